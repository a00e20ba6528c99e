"""Where an op was called from: the first frame outside the graphgrad package.

Recorders call `location()` once per op, so it only walks frames and keeps (file, line); the
code line is looked up when someone reads it (linecache, itself a cache)."""
import linecache
import os
import sys

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
PACKAGE_NAME = __name__.split(".")[0] + "."

# file name -> whether it is graphgrad's: most frames walked are, and a str caches its hash
# (a code object's hash is computed afresh each time)
_package_files = {}
_own_types = {}  # module class -> whether it is one of graphgrad's
# (frame that called a module, that call's location, whether the module is one of graphgrad's):
# pushed by tracing.scope.enter_module while a recorder is active
boundaries = []


def user_frame(depth=1):
    """The innermost frame, above the caller's, whose code is not graphgrad's (or None)."""
    return user_frame_from(sys._getframe(depth + 1))


def user_frame_from(f):
    """The first frame, from f outwards, whose code is not graphgrad's (or None)."""
    while f is not None and f.f_code.co_filename.startswith(PACKAGE_DIR):
        f = f.f_back
    return f


def location(above=0):
    """(file, line) of the user code running now, or None. Called once per recorded op, so it
    is kept cheap: inside one of graphgrad's own modules (nn.Linear, ...) it is the line that
    called the module, found once per call; elsewhere a walk up the frames that stops at the
    innermost module's caller, checking each file name once. above: frames above the caller
    known to be graphgrad's (not walked)."""
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
    package = _package_files
    try:
        while f is not stop:
            file = f.f_code.co_filename
            ours = package.get(file)
            if ours is None:
                ours = package[file] = file.startswith(PACKAGE_DIR)
            if not ours:
                return file, f.f_lineno
            f = f.f_back
        return known
    except AttributeError:  # ran out of frames: all of them graphgrad's
        return None


def enter_module(module):
    """A module is being called (by tracing.scope.enter_module, from the frame two above this one).
    One of graphgrad's called inside another (nn.Sequential's layers) shares the outer call's
    entry: nothing walks to its frame; the frame is taken for the others (to stop walks there)."""
    own = _own_types.get(type(module))
    if own is None:
        own = _own_types[type(module)] = type(module).__module__.startswith(PACKAGE_NAME)
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
    """The file as a person reads it: relative to the working directory when inside it."""
    try:
        rel = os.path.relpath(filename)
    except ValueError:  # another drive (Windows)
        return filename
    return filename if rel.startswith("..") else rel


def as_json(loc):
    if loc is None:
        return None
    return {"file": display_file(loc[0]), "line": loc[1], "code": code_line(loc)}


def describe(loc):
    """'train.py:12: `x = self.fc1(x)`' for messages."""
    if loc is None:
        return "an unknown place"
    code = code_line(loc)
    return f"{display_file(loc[0])}:{loc[1]}" + (f": `{code}`" if code else "")


def variable_name(value, frame):
    """The name a user's frame binds to `value` (locals first, then globals), or None."""
    if frame is None:
        return None
    for scope in (frame.f_locals, frame.f_globals):
        for name, v in scope.items():
            if v is value and not name.startswith("_"):
                return name
    return None
