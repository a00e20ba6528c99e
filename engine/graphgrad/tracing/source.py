"""Where an op was called from: two places, as a person debugging a model reads them.

- the innermost frame that ran it, graphgrad's plumbing (ops, tensors, autograd, nn modules)
  skipped, but a library model's forward (graphgrad.models: resnet.py's
  `out = self.bn1(self.conv1(x))`) counted as code that ran it;
- the user's line that called it: the first frame outside graphgrad (the notebook's
  `out = model(x)`), kept only when it differs from the first.

A location is (file, line) when both are the same place, else (file, line, (file, line) of the
user's line): the third item rides along wherever a location goes, and (file, line) reads as
before. Recorders call `location()` once per op, so it only walks frames and keeps (file,
line); the code line is looked up when someone reads it (linecache, itself a cache)."""
import linecache
import os
import sys

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
PACKAGE_NAME = __name__.split(".")[0] + "."
MODELS_DIR = PACKAGE_DIR + "models" + os.sep
MODELS_NAME = PACKAGE_NAME + "models."
USER, MODEL, PLUMBING = 0, 1, 2  # what a file is (kind_of)

# file name -> USER, MODEL or PLUMBING: most frames walked are plumbing, and a str caches its
# hash (a code object's hash is computed afresh each time)
_file_kinds = {}
_own_types = {}  # module class -> whether it is graphgrad's plumbing (a library model's is not)
# (frame that called a module, the location of ops run inside that call at or above that frame,
# whether the module is plumbing): pushed by tracing.scope.enter_module while a recorder is active
boundaries = []


def kind_of(file):
    kind = _file_kinds.get(file)
    if kind is None:
        kind = _file_kinds[file] = (USER if not file.startswith(PACKAGE_DIR) else
                                    MODEL if file.startswith(MODELS_DIR) else PLUMBING)
    return kind


def user_frame(depth=1):
    """The innermost frame, above the caller's, whose code is not graphgrad's (or None)."""
    return user_frame_from(sys._getframe(depth + 1))


def user_frame_from(f):
    """The first frame, from f outwards, whose code is not graphgrad's (or None)."""
    while f is not None and f.f_code.co_filename.startswith(PACKAGE_DIR):
        f = f.f_back
    return f


def location(above=0):
    """The location of the code running now (see the module's doc), or None. Called once per
    recorded op, so it is kept cheap: inside one of graphgrad's own modules (nn.Linear, ...) it
    is the location of the line that called the module, found once per call; elsewhere a walk up
    the frames that stops at the innermost module's caller, checking each file name once.
    above: frames above the caller known to be graphgrad's (not walked)."""
    if boundaries:
        top = boundaries[-1]
        if top[2]:
            return top[1]
    try:
        return location_from(sys._getframe(1 + above))
    except ValueError:  # fewer frames than that
        return None


def location_from(f):
    """location() from frame f outwards."""
    stop, known, _ = boundaries[-1] if boundaries else (None, None, None)
    kinds = _file_kinds
    try:
        while f is not stop:
            file = f.f_code.co_filename
            kind = kinds.get(file)
            if kind is None:
                kind = kind_of(file)
            if kind == USER:
                return file, f.f_lineno
            if kind == MODEL:
                return file, f.f_lineno, _user_line(f.f_back, stop, known)
            f = f.f_back
        return known
    except AttributeError:  # ran out of frames: all of them graphgrad's
        return None


def _user_line(f, stop, known):
    """(file, line) of the first frame outside graphgrad from f outwards (None if none), where
    reaching `stop` means the user's line of `known`."""
    while f is not None and f is not stop:
        if kind_of(f.f_code.co_filename) == USER:
            return f.f_code.co_filename, f.f_lineno
        f = f.f_back
    return user_line(known) if f is not None else None


def user_line(loc):
    """(file, line) of a location's user line (itself when it has no other)."""
    if loc is None:
        return None
    return loc[2] if len(loc) > 2 else loc


def enter_module(module):
    """A module is being called (by tracing.scope.enter_module, from the frame two above this one).
    One of graphgrad's called inside another (nn.Sequential's layers) shares the outer call's
    entry: nothing walks to its frame; the frame is taken for the others (to stop walks there)."""
    own = _own_types.get(type(module))
    if own is None:
        name = type(module).__module__
        own = _own_types[type(module)] = name.startswith(PACKAGE_NAME) and not name.startswith(MODELS_NAME)
    top = boundaries[-1] if boundaries else None
    if top is not None and top[2]:
        boundaries.append(top if own else (sys._getframe(2), top[1], False))
    else:
        caller = sys._getframe(2)
        boundaries.append((caller, location_from(caller), own))


def code_line(loc):
    """The source text at (file, line), stripped ('' where the file cannot be read)."""
    return linecache.getline(loc[0], loc[1]).strip() if loc else ""


def display_file(filename):
    """The file as a person reads it: a notebook cell as IPython's tracebacks name it ('Cell In[3]');
    graphgrad's as graphgrad/models/resnet.py wherever it is installed; others relative to the
    working directory when inside it."""
    if filename.startswith(PACKAGE_DIR):
        return os.path.join(PACKAGE_NAME[:-1], filename[len(PACKAGE_DIR):])
    cell = _notebook_cell(filename)
    if cell is not None:
        return cell
    try:
        rel = os.path.relpath(filename)
    except ValueError:  # another drive (Windows)
        return filename
    return filename if rel.startswith("..") else rel


def _notebook_cell(filename):
    """'Cell In[3]' for the code of a cell IPython ran (its compiler names cells by execution count)."""
    shell = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", lambda: None)()
    number = getattr(getattr(shell, "compile", None), "_filename_map", {}).get(filename)
    return f"Cell In[{number}]" if number is not None else None


def as_json(loc):
    """{file, line, code} of the innermost frame that ran (None if unknown)."""
    if loc is None:
        return None
    return {"file": display_file(loc[0]), "line": loc[1], "code": code_line(loc)}


def caller_json(loc):
    """{file, line, code} of the user's line that called it, None when that is the same place."""
    return as_json(loc[2]) if loc is not None and len(loc) > 2 else None


def describe(loc):
    """'train.py:12: `x = self.fc1(x)`' for messages (and, where a library model ran it, the
    user's line that called the model: '... (called from train.py:30: `out = model(x)`)')."""
    if loc is None:
        return "an unknown place"
    code = code_line(loc)
    where = f"{display_file(loc[0])}:{loc[1]}" + (f": `{code}`" if code else "")
    return where + (f" (called from {describe(loc[2])})" if len(loc) > 2 and loc[2] is not None else "")


def variable_name(value, frame):
    """The name a user's frame binds to `value` (locals first, then globals), or None."""
    if frame is None:
        return None
    for scope in (frame.f_locals, frame.f_globals):
        for name, v in scope.items():
            if v is value and not name.startswith("_"):
                return name
    return None
