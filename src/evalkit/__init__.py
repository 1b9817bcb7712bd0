"""evalkit — evaluate a city-level industry–education consortium (市域产教联合体)."""
__version__ = "0.1.0"
