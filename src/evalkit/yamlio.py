"""The one YAML reader of evalkit: safe loading with bounded work.

Every YAML file evalkit reads (``dataset.yaml``, params files, batch manifests, registries) goes
through :func:`read_yaml`. It refuses, with an error naming the file and the limit:

* a file larger than ``EVALKIT_MAX_YAML_MB`` (default 2 MB; YAML files here are small);
* text that is not UTF-8 (a BOM is accepted);
* YAML whose aliases would expand to more than ``MAX_YAML_NODES`` nodes (the "billion laughs"
  attack: a few lines of anchors and aliases that expand to 10⁹ nodes), or that refer to
  themselves (recursive aliases). The check walks the composed node graph once, with the size of
  each anchored node remembered, so it takes milliseconds even on a hostile file;
* tags other than the standard ones (``yaml.safe_load`` semantics: no Python objects);
* a key given twice in one mapping (plain YAML keeps the last one silently), naming the key and
  both lines.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError

DEFAULT_MAX_YAML_MB = 2.0
MAX_YAML_NODES = 100_000  # nodes after alias expansion; a params file has a few hundred
ENV_MAX_YAML_MB = "EVALKIT_MAX_YAML_MB"


class YamlError(EvalkitError, ValueError):
    """A YAML file that cannot be read safely (syntax, encoding, size or alias expansion)."""

    hint = "What to do: fix the YAML file named above (plain keys and values; no anchors/aliases needed) and run again."


def max_yaml_bytes() -> int:
    """The size limit for one YAML file, in bytes (``EVALKIT_MAX_YAML_MB``, default 2 MB)."""
    raw = os.environ.get(ENV_MAX_YAML_MB, "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_MAX_YAML_MB
    except ValueError:
        raise YamlError(f"{ENV_MAX_YAML_MB}={raw!r} is not a number of megabytes") from None
    return int(mb * 2**20)


def read_yaml(
    source: str | os.PathLike | bytes,
    *,
    what: str = "YAML file",
    error: type[Exception] = YamlError,
    max_nodes: int = MAX_YAML_NODES,
) -> Any:
    """Parse one YAML document safely, with bounded time and memory.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A path to a YAML file (``Path``), or the YAML text itself (``str`` containing a newline
        or ``bytes``). A ``str`` without a newline is taken as a path.
    what : str
        What the file is, for messages (``"params file"``, ``"dataset.yaml"``).
    error : type of Exception
        The exception raised for every problem (default :class:`YamlError`); callers pass their
        own ``EvalkitError`` subclass (``ParamsError``, ``ManifestError``) to keep their hints.
    max_nodes : int
        The largest number of nodes the document may have after alias expansion.

    Returns
    -------
    object
        The document, as ``yaml.safe_load`` would return it (``None`` for an empty file).

    Raises
    ------
    error
        The file is too large, not UTF-8, not valid YAML, or its aliases expand beyond
        ``max_nodes`` nodes (or refer to themselves). The message names the file and the limit.
    FileNotFoundError
        ``source`` is a path that does not exist.
    """
    import yaml

    label, data = _bytes_of(source, what, error)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{label}: not UTF-8 text (byte {exc.start}); save the {what} as UTF-8") from None
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, max_nodes, label, what, error)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise error(f"{label}: not valid YAML: {exc}") from None
    except RecursionError:
        raise error(f"{label}: the {what} is nested too deeply to be read") from None
    finally:
        loader.dispose()


def _bytes_of(source, what: str, error) -> tuple[str, bytes]:
    limit = max_yaml_bytes()
    if isinstance(source, bytes):
        data = source
        label = what
    elif isinstance(source, str) and "\n" in source:
        data = source.encode("utf-8")
        label = what
    else:
        path = Path(source)
        label = str(path)
        size = path.stat().st_size  # FileNotFoundError for a missing path, as open() would
        if size > limit:
            raise error(
                f"{label}: the {what} is {size / 2**20:.1f} MB, more than the limit of "
                f"{limit / 2**20:g} MB for a YAML file; a real one is a few kB. If it is right, raise "
                f"the limit with the environment variable {ENV_MAX_YAML_MB}"
            )
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    if len(data) > limit:
        raise error(
            f"{label}: the {what} is more than the limit of {limit / 2**20:g} MB for a YAML file "
            f"(environment variable {ENV_MAX_YAML_MB})"
        )
    return label, data


def _check_expansion(root, max_nodes: int, label: str, what: str, error) -> None:
    """Count the nodes of the document as if every alias were expanded; stop as soon as the
    count passes ``max_nodes``. A node reached again (an alias) adds its remembered size, so the
    walk visits each distinct node once."""
    import yaml

    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:
            raise error(
                f"{label}: the {what} has an alias that refers to itself (a recursive anchor); "
                "write the values out instead"
            )
        on_path.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child)
                if total > max_nodes:
                    break
        elif isinstance(node, yaml.MappingNode):
            _check_duplicates(node, label, what, error)
            for k, v in node.value:
                total += size(k) + size(v)
                if total > max_nodes:
                    break
        on_path.discard(key)
        sizes[key] = total
        if total > max_nodes:
            raise error(
                f"{label}: the {what} expands to more than {max_nodes:,} values through its "
                "anchors and aliases (&name / *name) — a 'billion laughs' file; it is refused. "
                "Write the values out without aliases"
            )
        return total

    size(root)


def _check_duplicates(node, label: str, what: str, error) -> None:
    """Refuse a key given twice in one mapping (YAML would keep the last one silently: a params
    window or target written twice means one of them is lost)."""
    seen: dict[tuple[str, str], int] = {}
    for k, _ in node.value:
        if not hasattr(k, "value") or not isinstance(k.value, str) or k.tag == "tag:yaml.org,2002:merge":
            continue
        key = (k.tag, k.value)
        line = k.start_mark.line + 1
        if key in seen:
            raise error(
                f"{label}, line {line}: the key {k.value!r} is given twice in one mapping (first on line "
                f"{seen[key]}); YAML would keep only the last silently. Keep one of them"
            )
        seen[key] = line
