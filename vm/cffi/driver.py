# Runs the VM's own pypy_tools/build_cffi_imports.py inside an installed
# tree. The script expects a PyPy source checkout: it imports
# rpython.tool.runsubprocess and looks for <basedir>/lib_pypy. This driver
# supplies both, and records each build's output so a failure is reported
# per module with the compiler's error.
# argv: tools_dir basedir exe only without report.json test_modules
import json, os, subprocess, sys, types

tools, basedir, exe, only, without, report, test_modules = sys.argv[1:8]
outputs = {}


def run_subprocess(executable, args, env=None, cwd=None):
    args = list(args)
    if args == ['-m', 'ensurepip']:
        # The script installs pip when setuptools is missing; the tree's
        # distutils compiles the modules, and pip in the VM would change
        # what assemble ships.
        return 0, b'', b''
    # Popen, not subprocess.run: a 2.7 VM runs this driver too.
    p = subprocess.Popen([executable] + args, env=env, cwd=cwd,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = p.communicate()
    if args and args[0].endswith('.py'):
        outputs[args[0]] = (stdout + stderr).decode('utf-8', 'replace')
    return p.returncode, stdout, stderr


for name in ('rpython', 'rpython.tool', 'rpython.tool.runsubprocess'):
    sys.modules[name] = types.ModuleType(name)
sys.modules['rpython.tool.runsubprocess'].run_subprocess = run_subprocess
sys.path.insert(0, tools)
import build_cffi_imports as b

lib_pypy = os.path.join(basedir, 'lib_pypy')
only_set = set(filter(None, only.split(','))) or None
without_set = set(filter(None, without.split(',')))


class Options(object):
    pass


opts = Options()
modules, skipped = [], []
# A dict in 3.x, a list of (key, script) pairs in 2.7.
scripts = b.cffi_build_scripts
for key, script in (scripts.items() if hasattr(scripts, 'items') else scripts):
    if script is None:
        continue
    if key in without_set or (only_set and key not in only_set):
        setattr(opts, 'no_' + key, True)
        skipped.append({'key': key, 'why': 'excluded'})
    elif not os.path.exists(os.path.join(lib_pypy, script)):
        setattr(opts, 'no_' + key, True)
        skipped.append({'key': key, 'why': 'no build script ' + script + ' in this tree'})
    else:
        modules.append({'key': key, 'script': script})

os.chdir(lib_pypy)
failures = b.create_cffi_import_libraries(exe, opts, basedir, only=only_set, rebuild=True)
failed = [{'key': key, 'script': script, 'output': outputs.get(script, '')}
          for key, script in failures]
built = [m for m in modules if m['key'] not in set(key for key, _ in failures)]

# The C-API test modules the stdlib's own tests import (_testcapi,
# _ctypes_test, _testmultiphase), compiled into lib_pypy as upstream's
# package.py does by importing them, when the tree has their C sources.
if test_modules == 'true':
    for script, csource in (('_testmultiphase_build.py', '_testmultiphase.c'),
                            ('_ctypes_test_build.py', '_ctypes_test.c'),
                            ('_testcapi.py', '_testcapimodule.c')):
        if not (os.path.exists(os.path.join(lib_pypy, script)) and
                os.path.exists(os.path.join(lib_pypy, csource))):
            continue
        mod = script[:-3]
        p = subprocess.Popen([exe, '-c', 'import ' + mod], cwd=lib_pypy,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate()
        entry = {'key': mod, 'script': script}
        if p.returncode == 0:
            built.append(entry)
        else:
            entry['output'] = (out + err).decode('utf-8', 'replace')
            failed.append(entry)

with open(report, 'w') as f:
    json.dump({'built': built, 'skipped': skipped, 'failed': failed},
              f, indent=1, sort_keys=True)
