"""Read a pandas DataFrame stored in HDF5 (``DataFrame.to_hdf``) with h5py, never with pandas.

pandas.read_hdf may unpickle object columns and column lists, so a file a user hands us could
run code. This module reads only numeric blocks, and decodes the pickled column-name lists of
the "table" format opcode by opcode (``pickletools.genops``) without executing them.

Layouts (as written by pandas ≥ 1, checked against pandas 3.1):
  "fixed" (``pandas_type = frame``): ``{key}/axis0`` column names (bytes), ``{key}/axis1`` the
  index, and per dtype block ``{key}/block{k}_items`` (names) and ``{key}/block{k}_values``
  (rows × items, attribute ``transposed = 1``).
  "table" (``pandas_type = frame_table``): one compound dataset ``{key}/table`` with an
  ``index`` field and fields ``values_block_{k}`` (rows × items) whose names are a pickled list
  in the attribute ``values_block_{k}_kind``; data columns are fields under their own names.
"""

from __future__ import annotations

import pickletools

import h5py
import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.readers.hdf5 import name_list

_PICKLE_TEXT_OPS = frozenset({"UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
                              "STRING", "BINSTRING", "SHORT_BINSTRING"})
_PICKLE_LIST_OPS = frozenset({"PROTO", "FRAME", "MARK", "EMPTY_LIST", "LIST", "APPEND",
                              "APPENDS", "PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE", "STOP"})


def names_from_pickled_list(raw: bytes, label: str, what: str) -> list[str]:
    """The strings of a pickled list of strings, read opcode by opcode and never unpickled.

    pandas' "table" format stores each block's column names as a pickled list in an HDF5
    attribute. ``pickletools.genops`` only decodes opcodes; anything beyond a flat list of
    strings (a GLOBAL, a REDUCE, …) is refused, so no code in the file can run.
    """
    names = []
    try:
        for op, arg, _ in pickletools.genops(bytes(raw)):
            if op.name in _PICKLE_TEXT_OPS:
                names.append(arg.decode() if isinstance(arg, bytes) else str(arg))
            elif op.name not in _PICKLE_LIST_OPS:
                raise JetvizInputError(
                    f"{label}: {what} is not a plain list of column names (pickle opcode "
                    f"{op.name}); jetviz never unpickles user files")
    except ValueError as err:
        raise JetvizInputError(f"{label}: cannot decode {what} ({err})") from err
    return names


class PandasFrame:
    """Read-only view of a pandas DataFrame in HDF5 (either layout), column by name.

    Attributes:
        columns: the column names, block by block.
        n_rows: the number of rows.
    """

    def __init__(self, h5: h5py.File, key: str, label: str) -> None:
        self.label, self.layout = label, f"pandas HDF5 (key {key!r})"
        group = h5[key]
        ptype = group.attrs.get("pandas_type", b"")
        ptype = ptype.decode() if isinstance(ptype, bytes) else str(ptype)
        self.blocks: dict[str, tuple[h5py.Dataset, str | None, bool]] = {}
        self.where: dict[str, tuple[str, int]] = {}  # column → (block, index in block)
        if ptype == "frame" and "axis0" in group:
            self._fixed(group)
        elif ptype == "frame_table" and isinstance(group.get("table"), h5py.Dataset):
            self._table(group["table"])
        else:
            raise JetvizInputError(
                f"{label}: group {key!r} is not a pandas DataFrame (found pandas_type "
                f"{ptype!r}, entries {sorted(group.keys())[:8]}); expected the layout pandas "
                "writes with DataFrame.to_hdf (axis0 + block0_values, or a 'table' dataset)")
        self.columns = list(self.where)

    def _fixed(self, group: h5py.Group) -> None:
        k = 0
        self.n_rows = 0
        while f"block{k}_items" in group:
            items = name_list(group, f"block{k}_items", self.label, self.layout)
            values = group[f"block{k}_values"]
            transposed = bool(values.attrs.get("transposed", 1))
            self.blocks[f"block{k}"] = (values, None, transposed)
            self.where.update({item: (f"block{k}", j) for j, item in enumerate(items)})
            if isinstance(values, h5py.Dataset) and values.ndim == 2:
                self.n_rows = int(values.shape[0] if transposed else values.shape[1])
            k += 1

    def _table(self, table: h5py.Dataset) -> None:
        self.n_rows = int(table.shape[0])
        for field in table.dtype.names or ():
            if field == "index":
                continue
            if field.startswith("values_block_"):
                raw = table.attrs.get(f"{field}_kind", b"")
                items = names_from_pickled_list(raw, self.label, f"{field}_kind")
            else:
                items = [field]  # a data column stored under its own name
            self.blocks[field] = (table, field, True)
            self.where.update({item: (field, j) for j, item in enumerate(items)})

    def _block_rows(self, block: str, rows: slice) -> np.ndarray:
        values, field, transposed = self.blocks[block]
        if field is not None:
            data = values.fields(field)[rows]
        else:
            data = values[rows] if transposed else values[:, rows].T
        return data.reshape(rows.stop - rows.start, -1)  # (n_rows, n_items)

    def read(self, names: list[str], rows: slice) -> np.ndarray:
        """Columns ``names`` for ``rows`` as a (n_rows, len(names)) float64 array."""
        out = np.empty((rows.stop - rows.start, len(names)), np.float64)
        by_block: dict[str, list[tuple[int, int]]] = {}
        for i, nm in enumerate(names):
            block, j = self.where[nm]
            by_block.setdefault(block, []).append((i, j))
        for block, pairs in by_block.items():
            values, field, _ = self.blocks[block]
            dtype = values.dtype[field] if field is not None else values.dtype
            if not isinstance(values, h5py.Dataset) or not np.issubdtype(dtype.base, np.number):
                column = names[pairs[0][0]]
                raise JetvizInputError(
                    f"{self.label}: column {column!r} is stored as {dtype}, not as numbers "
                    "(a pandas object column?); expected numeric columns. jetviz never "
                    "unpickles user files")
            data = self._block_rows(block, rows)
            out[:, [i for i, _ in pairs]] = data[:, [j for _, j in pairs]]
        return out
