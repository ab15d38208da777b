#!/usr/bin/env python3
"""What a contained spawn would cost if the sandbox were started ahead of the run (issue 14).

A measurement, not a design: no broker, no JVM. Alternates, `rounds` times, `n` spawns of each
variant from this process and prints each variant's median over the rounds of its mean per spawn:

  direct      `true` spawned directly (the baseline "direct spawn" of the MCP target)
  per-run     the daemon's command line for a run: setsid bwrap --unshare-pid --die-with-parent
              --bind / / --dev /dev --proc /proc --chdir /tmp -- true (what every run costs today)
  handover    the same bwrap started ahead, with a 20-line C helper inside that waits on its
              stdin for a program path and execs it; timed from the write of the path to the
              reap of bwrap (the sandbox's start-up is off the clock, as a spare's would be)

Needs bwrap and a C compiler (cc): the helper is what a pre-started sandbox needs and what this
project cannot ship under its README (a JDK, Maven, Node and npm only). Run it as the user the
daemon runs as: as root bwrap makes no user namespace.

Usage: bench/prestarted-floor.py [rounds] [n]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

HELPER = r"""
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    char path[4096];
    if (write(1, "r", 1) != 1) return 111;          /* ready: the sandbox is up */
    ssize_t n = read(0, path, sizeof path - 1);
    if (n <= 0) return 112;
    path[n] = 0;
    char *nl = strchr(path, '\n');
    if (nl) *nl = 0;
    char *argv[] = { path, NULL };
    execv(path, argv);
    return 127;
}
"""


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    bwrap = shutil.which("bwrap")
    cc = shutil.which("cc") or shutil.which("gcc")
    if not bwrap or not cc:
        sys.exit("prestarted-floor: needs bwrap and cc on PATH")
    true = shutil.which("true")
    work = tempfile.mkdtemp()
    try:
        src = os.path.join(work, "waitexec.c")
        exe = os.path.join(work, "waitexec")
        with open(src, "w") as f:
            f.write(HELPER)
        subprocess.run([cc, "-O2", "-o", exe, src], check=True)
        box = ["setsid", bwrap, "--unshare-pid", "--die-with-parent", "--bind", "/", "/",
               "--dev", "/dev", "--proc", "/proc", "--chdir", "/tmp", "--"]

        def direct():
            t0 = time.perf_counter_ns()
            subprocess.run([true], check=True)
            return time.perf_counter_ns() - t0

        def per_run():
            t0 = time.perf_counter_ns()
            subprocess.run(box + [true], check=True)
            return time.perf_counter_ns() - t0

        def handover():
            p = subprocess.Popen(box + [exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            if p.stdout.read(1) != b"r":
                sys.exit("prestarted-floor: the helper did not start")
            t0 = time.perf_counter_ns()
            p.stdin.write((true + "\n").encode())
            p.stdin.flush()
            if p.wait() != 0:
                sys.exit("prestarted-floor: the handed-over command failed")
            t1 = time.perf_counter_ns()
            p.stdin.close()
            p.stdout.close()
            return t1 - t0

        variants = [("direct", direct), ("per-run", per_run), ("handover", handover)]
        means = {name: [] for name, _ in variants}
        for _ in range(rounds):
            for name, fn in variants:
                means[name].append(sum(fn() for _ in range(n)) / n / 1e6)
        load = open("/proc/loadavg").read().split()[:3]
        print(f"{rounds} rounds x {n} spawns as uid {os.getuid()}; load average {' '.join(load)};"
              " median of the rounds, ms per spawn")
        base = sorted(means["direct"])[(rounds - 1) // 2]
        for name, _ in variants:
            med = sorted(means[name])[(rounds - 1) // 2]
            print(f"{med:8.2f}  {name:9s} (+{med - base:.2f} over direct)")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
