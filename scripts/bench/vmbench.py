# Small workloads for comparing two builds of one PyPy (docs/benchmarks.md:
# --lto or not, one host or another). Runs under Python 2.7 and 3; prints
# one line per workload: its name and the best of 3 timed rounds after
# a warm-up round, in milliseconds, so the JIT has compiled the loops.
import json, re, sys, time

clock = getattr(time, "perf_counter", time.time)

def loop(n=60000000):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s

class Body(object):
    __slots__ = ("x", "y", "vx", "vy", "m")
    def __init__(self, x, y, vx, vy, m):
        self.x, self.y, self.vx, self.vy, self.m = x, y, vx, vy, m

def objects(steps=400000):
    bodies = [Body(i * 1.5, i * -0.5, 0.01 * i, 0.0, 1.0 + i) for i in range(5)]
    for _ in range(steps):
        for a in bodies:
            for b in bodies:
                if a is not b:
                    dx, dy = b.x - a.x, b.y - a.y
                    d2 = dx * dx + dy * dy + 0.01
                    a.vx += dx * b.m / d2 * 1e-4
                    a.vy += dy * b.m / d2 * 1e-4
        for a in bodies:
            a.x += a.vx
            a.y += a.vy
    return bodies[0].x

def strings(n=300000):
    out = []
    for i in range(n):
        s = "%d:%s" % (i, "abc" * (i % 5))
        out.append(s.upper().replace("B", "-").split(":")[1])
    return len("".join(out))

DOC = {"name": "pypy", "versions": [{"v": "7.3.%d" % i, "files": [{"arch": "x64", "size": i * 1000, "ok": True}] * 3} for i in range(30)]}

def jsons(n=1000):
    t = 0
    for _ in range(n):
        t += len(json.loads(json.dumps(DOC, sort_keys=True))["versions"])
    return t

TEXT = " ".join("word%d user%d@example.org 2026-12-%02d" % (i, i, i % 28 + 1) for i in range(2000))

def regex(n=40):
    pat = re.compile(r"(\w+)@(\w+)\.org|(\d{4})-(\d{2})-(\d{2})")
    t = 0
    for _ in range(n):
        t += len(pat.findall(TEXT))
    return t

def main():
    names = sys.argv[1:] or ["loop", "objects", "strings", "jsons", "regex"]
    for name in names:
        f = globals()[name]
        f()
        best = None
        for _ in range(3):
            t0 = clock()
            f()
            dt = clock() - t0
            best = dt if best is None else min(best, dt)
        sys.stdout.write("%s %.1f\n" % (name, best * 1000))

main()
