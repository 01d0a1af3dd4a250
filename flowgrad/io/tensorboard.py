"""TensorBoard summaries: :class:`SummaryWriter`, PyTorch's names over tensorboardX's summaries
and event files.

Values may be eager tensors (a tensor that requires grad is read through ``detach()``), NumPy
arrays or Python numbers. Each value is checked and made a NumPy array here, before
tensorboardX turns it into a summary, so a symbolic tensor, a wrong shape or a wrong dtype
gets a flowgrad error that names the method and the tag, and nothing is written.

``add_graph`` shows flowgrad's own graph in TensorBoard's graph view: a module or function is
traced on placeholders shaped like its example inputs (each module call a name scope, each
parameter named after its module), and the graph's nodes become a TensorFlow ``GraphDef``.
"""

from __future__ import annotations

import datetime
import itertools
import numbers
import os
import socket
import time
import weakref

import numpy as np

from flowgrad.errors import DTypeError, ShapeError, at_user_site
from flowgrad.graph.build import is_symbolic
from flowgrad.graph.compile import CompiledFunction
from flowgrad.graph.ir import Graph
from flowgrad.io import require
from flowgrad.io.tensorboard_graph import to_graph_def, trace
from flowgrad.tensor import Tensor

#: What ``add_histogram``'s ``bins`` may name besides ``"tensorflow"`` (NumPy's estimators).
NUMPY_BINS = ("auto", "fd", "doane", "scott", "stone", "rice", "sturges", "sqrt")
IMAGE_FORMATS = {"CHW": "(channels, height, width)", "HWC": "(height, width, channels)",
                 "HW": "(height, width)"}


def _tensorflow_bins() -> np.ndarray:
    """TensorFlow's histogram bucket edges: +-1e-12 growing by 10% up to 1e20, and 0."""
    edges, edge = [], 1e-12
    while edge < 1e20:
        edges.append(edge)
        edge *= 1.1
    return np.array([-e for e in reversed(edges)] + [0.0] + edges)


TENSORFLOW_BINS = _tensorflow_bins()
#: The number of the next event file this process opens: with the pid it makes file names
#: unique and ordered (tensorboardX names a file by the second it opens, so a second file
#: opened in the same second in the same folder would overwrite the first).
_FILE_NUMBERS = itertools.count()


def _tensorboardx(module: str = "tensorboardX"):
    return require(module, "tensorboard", "SummaryWriter")


class _EventFile:
    """One event file. An event is appended at once (a record in a buffered file: micro-
    seconds) and reaches the disk when ``max_queue`` events wait, at the first event
    ``flush_secs`` after the last flush, at ``flush()`` and ``close()``, and at exit.

    (tensorboardX's own writer queues events for a thread, and its ``flush()`` does not wait
    for that queue: an event logged just before it could still be missing from the file.)"""

    def __init__(self, folder: str, max_queue: int, flush_secs: float, suffix: str) -> None:
        _tensorboardx("tensorboardX.record_writer").directory_check(folder)
        events_writer = _tensorboardx("tensorboardX.event_file_writer").EventsWriter
        self._events = events_writer(os.path.join(folder, "events"), suffix)
        self._max_queue, self._flush_secs = max_queue, flush_secs
        self._waiting, self._flushed_at = 0, time.monotonic()
        self._closer = weakref.finalize(self, self._events.close)  # once; also at exit

    def add(self, event) -> None:
        self._events.write_event(event)
        self._waiting += 1
        if (self._waiting >= self._max_queue
                or time.monotonic() - self._flushed_at >= self._flush_secs):
            self.flush()

    def flush(self) -> None:
        self._events.flush()
        self._waiting, self._flushed_at = 0, time.monotonic()

    def close(self) -> None:
        self._closer()


class SummaryWriter:
    """Write scalars, histograms, images, text and graphs to a TensorBoard log folder.

    ``log_dir`` defaults to ``runs/<date>_<host><comment>``. Events reach the disk when
    ``max_queue`` are waiting, at the first event ``flush_secs`` seconds after the last
    flush, at ``flush()`` and at ``close()``. ``purge_step``: a restarted run's first step;
    TensorBoard hides the events of the earlier run from that step on. After ``close()`` a
    new value opens a new event file in the same folder, as PyTorch's writer does.

    >>> import tempfile
    >>> import flowgrad as fg
    >>> from flowgrad.utils.tensorboard import SummaryWriter
    >>> with SummaryWriter(tempfile.mkdtemp()) as writer:
    ...     loss = fg.tensor(0.25, requires_grad=True)
    ...     writer.add_scalar("train/loss", loss, global_step=1)
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "",
                 purge_step: int | None = None, max_queue: int = 10, flush_secs: int = 120,
                 filename_suffix: str = "") -> None:
        if purge_step is not None:
            purge_step = _step("SummaryWriter", None, purge_step, "purge_step")
        _tensorboardx()  # the package first: what a missing installation names
        self._summary = _tensorboardx("tensorboardX.summary")
        self._event_pb2 = event_pb2 = _tensorboardx("tensorboardX.proto.event_pb2")
        if log_dir is None:
            now = datetime.datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{now}_{socket.gethostname()}{comment}")
        self._log_dir = os.fspath(log_dir)
        self._max_queue, self._flush_secs = max_queue, flush_secs
        self._filename_suffix = filename_suffix
        self._files: dict[str, _EventFile] = {}  # folder -> its open event file
        if purge_step is not None:  # written once: a reopened file must not purge again
            start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
            self._write(event_pb2.Event(file_version="brain.Event:2"), purge_step, None)
            self._write(event_pb2.Event(session_log=start), purge_step, None)
        else:
            self._file(self._log_dir)  # the folder and its file exist from the start

    @property
    def log_dir(self) -> str:
        """The folder the event files go to."""
        return self._log_dir

    def get_logdir(self) -> str:
        return self._log_dir

    def _file(self, folder: str) -> _EventFile:
        """The open event file of ``folder`` (opened now if there is none)."""
        file = self._files.get(folder)
        if file is None:
            suffix = f".{os.getpid()}.{next(_FILE_NUMBERS):06d}{self._filename_suffix}"
            file = self._files[folder] = _EventFile(folder, self._max_queue,
                                                    self._flush_secs, suffix)
        return file

    def _write(self, event, step: int | None, walltime: float | None,
               folder: str | None = None) -> None:
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = step
        self._file(folder or self._log_dir).add(event)

    def _add(self, summary, step: int | None, walltime: float | None,
             folder: str | None = None) -> None:
        self._write(self._event_pb2.Event(summary=summary), step, walltime, folder)

    # -- values ---------------------------------------------------------------------------

    def add_scalar(self, tag: str, scalar_value, global_step: int | None = None,
                   walltime: float | None = None) -> None:
        """Log one number (a one-element tensor or array, or a Python number) under ``tag``."""
        method = "add_scalar"
        _check_tag(method, tag)
        value = _scalar(method, tag, scalar_value, "scalar_value")
        step, walltime = _step(method, tag, global_step), _walltime(method, tag, walltime)
        self._add(self._summary.scalar(tag, value), step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Log several numbers on one chart: each entry of ``tag_scalar_dict`` is a run (the
        folder ``log_dir/<main_tag>_<tag>``, as PyTorch's) whose value is shown under
        ``main_tag``."""
        method = "add_scalars"
        _check_tag(method, main_tag)
        if not isinstance(tag_scalar_dict, dict) or not tag_scalar_dict:
            raise TypeError(at_user_site(
                f"{method}({main_tag!r}): tag_scalar_dict is {_kind(tag_scalar_dict)}; "
                f"expected a non-empty dict of tag -> number"))
        values = {}
        for tag, value in tag_scalar_dict.items():
            _check_tag(method, tag, f"a key of tag_scalar_dict of {main_tag!r}")
            values[tag] = _scalar(method, main_tag, value, f"tag_scalar_dict[{tag!r}]")
        step, walltime = _step(method, main_tag, global_step), _walltime(method, main_tag,
                                                                          walltime)
        walltime = time.time() if walltime is None else walltime  # one time for all runs
        for tag, value in values.items():
            folder = os.path.join(self._log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            self._add(self._summary.scalar(main_tag, value), step, walltime, folder)

    def add_histogram(self, tag: str, values, global_step: int | None = None,
                      bins: str | int | np.ndarray | list = "tensorflow",
                      walltime: float | None = None, max_bins: int | None = None) -> None:
        """Log the distribution of ``values`` (any shape, finite). ``bins``: "tensorflow"
        (TensorFlow's exponential buckets), a NumPy estimator name, a count or the edges."""
        method = "add_histogram"
        _check_tag(method, tag)
        array = _array(method, tag, values, "values").astype(np.float64).reshape(-1)
        if array.size == 0:
            raise ShapeError(at_user_site(
                f"{method}({tag!r}): values is empty; a histogram needs at least one value"))
        _check_finite(method, tag, array, "values")
        bins = _bins(method, tag, bins)
        step, walltime = _step(method, tag, global_step), _walltime(method, tag, walltime)
        self._add(self._summary.histogram(tag, array, bins, max_bins), step, walltime)

    def add_image(self, tag: str, img_tensor, global_step: int | None = None,
                  walltime: float | None = None, dataformats: str = "CHW") -> None:
        """Log one image: 1 (grey), 3 (RGB) or 4 (RGBA) channels laid out as ``dataformats``
        says ("CHW", "HWC" or "HW"); float values in [0, 1] or uint8 values in [0, 255]."""
        image = _image("add_image", tag, img_tensor, dataformats)
        require("PIL", "tensorboard", "SummaryWriter.add_image")  # tensorboardX encodes PNGs
        step = _step("add_image", tag, global_step)
        walltime = _walltime("add_image", tag, walltime)
        self._add(self._summary.image(tag, image, dataformats="HWC"), step, walltime)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Log a string (TensorBoard renders it as Markdown)."""
        method = "add_text"
        _check_tag(method, tag)
        if not isinstance(text_string, str):
            raise TypeError(at_user_site(
                f"{method}({tag!r}): text_string is {_kind(text_string)}; expected a str"))
        step, walltime = _step(method, tag, global_step), _walltime(method, tag, walltime)
        self._add(self._summary.text(tag, text_string), step, walltime)

    def add_graph(self, model_or_graph, input_to_model=None) -> None:
        """Show a graph in TensorBoard's graph view: a ``flowgrad.Graph`` as it is, or a
        module or function traced on placeholders shaped like ``input_to_model`` (a tensor
        or array, or a tuple of the positional arguments). Tracing builds nodes only: the
        model does not run and its parameters do not change."""
        if isinstance(model_or_graph, Graph):
            if input_to_model is not None:
                raise TypeError(at_user_site(
                    "add_graph: a Graph is written as it is; input_to_model must be None"))
            graph, names, traced = model_or_graph, {}, False
        elif isinstance(model_or_graph, CompiledFunction) and input_to_model is None:
            graph, names, traced = model_or_graph.graph, {}, True
        elif callable(model_or_graph):
            if input_to_model is None:
                raise TypeError(at_user_site(
                    f"add_graph: {_name(model_or_graph)} is traced with example inputs; pass "
                    f"input_to_model (a tensor or array, or a tuple of the arguments; () for "
                    f"a function of no arguments)"))
            graph, names = trace(model_or_graph, input_to_model)
            traced = True
        else:
            raise TypeError(at_user_site(
                f"add_graph: model_or_graph is {_kind(model_or_graph)}; expected an "
                f"nn.Module, a function or a flowgrad.Graph"))
        graph_def = to_graph_def(graph, names, drop_unread=traced)
        self._write(self._event_pb2.Event(graph_def=graph_def.SerializeToString()), None, None)

    # -- the file -------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every queued event to disk now."""
        for file in self._files.values():
            file.flush()

    def close(self) -> None:
        """Flush and close the event files (closing twice is harmless)."""
        for file in self._files.values():
            file.close()
        self._files.clear()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


# -- checking values ------------------------------------------------------------------------

def _kind(value) -> str:
    """How a message names what it was given: ``a str ('x')``, ``None``."""
    if value is None:
        return "None"
    kind, shown = type(value).__name__, repr(value)
    shown = f" ({shown})" if len(shown) <= 40 else ""
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}{shown}"


def _name(fn) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _check_tag(method: str, tag, what: str = "tag") -> None:
    if not isinstance(tag, str) or not tag:
        raise TypeError(at_user_site(
            f"{method}: {what} is {_kind(tag)}; expected a non-empty str"))


def _array(method: str, tag: str, value, what: str) -> np.ndarray:
    """``value`` as a NumPy array of real numbers, or an error naming ``what`` it was."""
    if isinstance(value, Tensor):
        if is_symbolic(value):
            raise TypeError(at_user_site(
                f"{method}({tag!r}): {what} is a symbolic graph tensor ({value._data.name}), "
                f"which has no value until the graph runs; log the value that Session.run or "
                f"the compiled function returns"))
        array = value.detach().numpy()
    elif isinstance(value, np.ndarray | np.generic | numbers.Real | list | tuple):
        try:
            array = np.asarray(value)
        except ValueError as exc:
            raise ShapeError(at_user_site(
                f"{method}({tag!r}): {what} is a ragged {type(value).__name__}; expected a "
                f"rectangular array")) from exc
    else:
        raise TypeError(at_user_site(
            f"{method}({tag!r}): {what} is {_kind(value)}; expected a flowgrad Tensor, a "
            f"NumPy array or a Python number"))
    if array.dtype.kind not in "biuf":
        raise DTypeError(at_user_site(
            f"{method}({tag!r}): {what} has dtype {array.dtype}; expected real numbers "
            f"(bool, int or float)"))
    return array


def _scalar(method: str, tag: str, value, what: str) -> float:
    array = _array(method, tag, value, what)
    if array.size != 1:
        raise ShapeError(at_user_site(
            f"{method}({tag!r}): {what} has shape {array.shape}; expected one value (a "
            f"one-element tensor or array, or a Python number)"))
    return float(array.reshape(()))


def _check_finite(method: str, tag: str, array: np.ndarray, what: str) -> None:
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise ValueError(at_user_site(
            f"{method}({tag!r}): {what} holds {bad} NaN or infinite value(s); expected "
            f"finite values"))


def _step(method: str, tag: str | None, step, what: str = "global_step") -> int | None:
    """A step as an int: a Python or NumPy integer, or a one-element integer tensor/array."""
    if step is None:
        return None
    where = method if tag is None else f"{method}({tag!r})"
    if isinstance(step, Tensor | np.ndarray) and not is_symbolic(step):
        array = step.detach().numpy() if isinstance(step, Tensor) else step
        if array.size == 1 and array.dtype.kind in "iu":
            return int(array.reshape(()))
    elif isinstance(step, numbers.Integral) and not isinstance(step, bool | np.bool_):
        return int(step)
    raise TypeError(at_user_site(
        f"{where}: {what} is {_kind(step)}; expected an int (or None)"))


def _walltime(method: str, tag: str, walltime) -> float | None:
    if walltime is None:
        return None
    if isinstance(walltime, numbers.Real) and not isinstance(walltime, bool | np.bool_):
        return float(walltime)
    raise TypeError(at_user_site(
        f"{method}({tag!r}): walltime is {_kind(walltime)}; expected seconds since the "
        f"epoch as a float (or None for now)"))


def _bins(method: str, tag: str, bins):
    """``bins`` checked: a name, a positive count, or increasing edges (as an array)."""
    if isinstance(bins, str):
        if bins == "tensorflow":
            return TENSORFLOW_BINS
        if bins in NUMPY_BINS:
            return bins
        raise ValueError(at_user_site(
            f"{method}({tag!r}): bins={bins!r} is not a binning; expected 'tensorflow', one "
            f"of {', '.join(map(repr, NUMPY_BINS))}, a count or the bin edges"))
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        if bins > 0:
            return int(bins)
        raise ValueError(at_user_site(
            f"{method}({tag!r}): bins={bins}; expected a positive number of bins"))
    edges = _array(method, tag, bins, "bins").astype(np.float64)
    if edges.ndim != 1 or edges.size < 2 or not (np.diff(edges) > 0).all():
        raise ShapeError(at_user_site(
            f"{method}({tag!r}): bins has shape {edges.shape}; expected at least two "
            f"increasing bin edges in one dimension"))
    return edges


def _image(method: str, tag: str, img, dataformats) -> np.ndarray:
    """``img`` as a (height, width, channels) uint8 array."""
    _check_tag(method, tag)
    layout = dataformats.upper() if isinstance(dataformats, str) else None
    if layout not in IMAGE_FORMATS:
        raise ValueError(at_user_site(
            f"{method}({tag!r}): dataformats={dataformats!r}; expected one of "
            f"{', '.join(map(repr, IMAGE_FORMATS))}"))
    array = _array(method, tag, img, "img_tensor")
    given = array.shape
    if array.ndim != len(layout):
        raise ShapeError(at_user_site(
            f"{method}({tag!r}): img_tensor has shape {array.shape}; dataformats={layout!r} "
            f"expects {len(layout)} dimensions {IMAGE_FORMATS[layout]}"))
    if layout == "HW":
        array = array[:, :, None]
    else:
        array = array.transpose([layout.index(axis) for axis in "HWC"])
    height, width, channels = array.shape
    if channels not in (1, 3, 4) or height == 0 or width == 0:
        raise ShapeError(at_user_site(
            f"{method}({tag!r}): img_tensor is {height}x{width} with {channels} channels "
            f"(shape {given}, dataformats={layout!r}); expected 1 (grey), 3 (RGB) "
            f"or 4 (RGBA) channels and a non-empty image"))
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind in "iu":
        raise DTypeError(at_user_site(
            f"{method}({tag!r}): img_tensor has dtype {array.dtype}; expected float values "
            f"in [0, 1] or uint8 values in [0, 255]"))
    _check_finite(method, tag, array, "img_tensor")
    return np.rint(np.clip(array.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)
