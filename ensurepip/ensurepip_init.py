"""Bootstrap pip into this PyPy from the wheels in ensurepip/_bundled/.

pypyctl writes this module into trees whose ensurepip was replaced by a
distribution (Debian's points at /usr/share/python-wheels and refuses to
run outside a venv). It keeps the stdlib's interface: version(),
bootstrap(), _main() and _uninstall_helper(), and works offline.
"""
import os
import os.path
import subprocess
import sys
import tempfile

__all__ = ["version", "bootstrap"]

_BUNDLED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bundled")
# Installed in this order; "wheel" is optional and installed when bundled.
_PROJECTS = ("setuptools", "pip", "wheel")


def _bundled():
    """Map project name -> (version, path) for the bundled wheels."""
    found = {}
    try:
        names = sorted(os.listdir(_BUNDLED_DIR))
    except OSError:
        names = []
    for name in names:
        if not name.endswith(".whl"):
            continue
        parts = name.split("-")
        if len(parts) >= 2:
            found[parts[0].lower()] = (parts[1], os.path.join(_BUNDLED_DIR, name))
    return found


def version():
    """Return the version of pip that would be installed."""
    pip = _bundled().get("pip")
    return pip[0] if pip else None


def _disable_pip_configuration_settings():
    # Ignore the user's pip configuration: bootstrapping is offline and fixed.
    for key in [k for k in os.environ if k.startswith("PIP_")]:
        del os.environ[key]
    os.environ["PIP_CONFIG_FILE"] = os.devnull


def _run_pip(args, additional_paths):
    # A subprocess keeps pip's imports and state out of the caller.
    code = (
        "import runpy, sys\n"
        "sys.path = %r + sys.path\n"
        "sys.argv[1:] = %r\n"
        "runpy.run_module('pip', run_name='__main__', alter_sys=True)\n"
    ) % (list(additional_paths), list(args))
    cmd = [sys.executable, "-W", "ignore::DeprecationWarning", "-c", code]
    if sys.flags.isolated:
        cmd.insert(1, "-I")
    return subprocess.run(cmd, check=True).returncode


def bootstrap(*, root=None, upgrade=False, user=False,
              altinstall=False, default_pip=False, verbosity=0):
    """Install pip (and setuptools, wheel) from the bundled wheels."""
    _bootstrap(root=root, upgrade=upgrade, user=user, altinstall=altinstall,
               default_pip=default_pip, verbosity=verbosity)


def _bootstrap(*, root=None, upgrade=False, user=False,
               altinstall=False, default_pip=False, verbosity=0):
    if altinstall and default_pip:
        raise ValueError("Cannot use altinstall and default_pip together")
    _disable_pip_configuration_settings()
    if altinstall:
        os.environ["ENSUREPIP_OPTIONS"] = "altinstall"
    elif not default_pip:
        os.environ["ENSUREPIP_OPTIONS"] = "install"

    bundled = _bundled()
    for required in ("setuptools", "pip"):
        if required not in bundled:
            raise RuntimeError("ensurepip: no %s wheel in %s" % (required, _BUNDLED_DIR))
    projects = [p for p in _PROJECTS if p in bundled]
    paths = [bundled[p][1] for p in projects]

    with tempfile.TemporaryDirectory() as tmpdir:
        args = ["install", "--no-cache-dir", "--no-index", "--find-links", _BUNDLED_DIR]
        if root:
            args += ["--root", root]
        if upgrade:
            args += ["--upgrade"]
        if user:
            args += ["--user"]
        if verbosity:
            args += ["-" + "v" * verbosity]
        os.environ.setdefault("TMPDIR", tmpdir)
        return _run_pip(args + projects, paths)


def _uninstall_helper(*, verbosity=0):
    """Uninstall pip (and setuptools) if they are the bundled versions."""
    try:
        import pip
    except ImportError:
        return
    if pip.__version__ != version():
        print("ensurepip will only uninstall a matching version "
              "({!r} installed, {!r} bundled)".format(pip.__version__, version()),
              file=sys.stderr)
        return
    _disable_pip_configuration_settings()
    args = ["uninstall", "-y", "--disable-pip-version-check"]
    if verbosity:
        args += ["-" + "v" * verbosity]
    return _run_pip(args + [p for p in reversed(_PROJECTS) if p in _bundled()], [])


def _main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(prog="python -m ensurepip")
    parser.add_argument("--version", action="version",
                        version="pip {}".format(version()),
                        help="Show the version of pip that is bundled with this Python.")
    parser.add_argument("-v", "--verbose", action="count", default=0, dest="verbosity",
                        help="Give more output. Option is additive, and can be used up to 3 times.")
    parser.add_argument("-U", "--upgrade", action="store_true", default=False,
                        help="Upgrade pip and dependencies, even if already installed.")
    parser.add_argument("--user", action="store_true", default=False,
                        help="Install using the user scheme.")
    parser.add_argument("--root", default=None,
                        help="Install everything relative to this alternate root directory.")
    parser.add_argument("--altinstall", action="store_true", default=False,
                        help="Make an alternate install, installing only the X.Y versioned scripts.")
    parser.add_argument("--default-pip", action="store_true", default=False,
                        help="Make a default pip install, installing the unqualified pip in addition.")
    args = parser.parse_args(argv)
    return _bootstrap(root=args.root, upgrade=args.upgrade, user=args.user,
                      verbosity=args.verbosity, altinstall=args.altinstall,
                      default_pip=args.default_pip)
