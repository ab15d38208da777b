#!/usr/bin/env python3
# CPU time (user + sys of the launcher and the client JVM, getrusage of children) of
# `brokerctl run --env bench -- true` for two builds, interleaved, each against its own running
# daemon (start them first, in two homes with an environment `bench`). Less at the mercy of the
# host's load than wall-clock time; parallel work inside the client does not show in it.
# Usage: bench/run-client-cpu.py RUNS HOME_A BIN_A HOME_B BIN_B
import os, subprocess, sys, resource, statistics
n=int(sys.argv[1]); pairs=[(sys.argv[2],sys.argv[3]),(sys.argv[4],sys.argv[5])]
res={b:[] for _,b in pairs}
for i in range(n):
    for h,b in pairs:
        env=dict(os.environ); env['BROKERCTL_HOME']=h
        r0=resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([b,'run','--env','bench','--','true'],env=env,stdout=subprocess.DEVNULL,check=True)
        r1=resource.getrusage(resource.RUSAGE_CHILDREN)
        res[b].append(((r1.ru_utime-r0.ru_utime)+(r1.ru_stime-r0.ru_stime))*1000)
for _,b in pairs: print('%-40s client CPU median %.1f ms over %d runs'%(b, statistics.median(res[b]), n))
