#!/usr/bin/env python3
"""compare_diff.py - run two builds of bench_diff back to back and print per-case ratios.

    python3 bench/compare_diff.py OLD/bench/bench_diff NEW/bench/bench_diff [--reps N] [--rounds R]

Each round runs OLD and NEW (alternating which goes first), each with N repetitions
per case (bench_diff's own median). A case's time is the median of its R per-round
medians. Cases are matched by their text as bench_diff prints it (the first 70
characters); cases only one program has (added or removed since OLD) are listed
apart. The load (uptime) is printed before and after: the numbers mean little on
a busy machine, and a ratio is only fair when both ran under the same load;
--clock cpu (BENCH_CLOCK=cpu) leaves out the time the program was preempted.
--stat min takes each case's fastest round instead of the median of the rounds.
Exit status 0; the verdict (cases slower by more than --limit) is printed.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

CASE = re.compile(r'^(.{70}) +([0-9.]+)$')
COURSE = re.compile(r'^  (.+?) +([0-9.]+) µs$')
SCALE = re.compile(r'^ *(\d+) +([0-9.]+) +(\d+) +([0-9.]+) +(\d+)$')
LOAD = re.compile(r'^rule loading: (\d+) rules, median ([0-9.]+) µs')


def parse(text):
    """The times of one bench_diff run: {name: µs} (names made unique in order)."""
    times, seen, section = {}, {}, None
    for line in text.splitlines():
        m = LOAD.match(line)
        if m:
            times['rule loading'] = float(m.group(2))
            continue
        if line.startswith('case '):
            section = 'case'
            continue
        if line.startswith('course examples'):
            section = 'course'
            continue
        if line.startswith('scaling'):
            section = 'scaling'
            continue
        name = None
        if section == 'case':
            m = CASE.match(line)
            if m:
                name, v = m.group(1).rstrip(), float(m.group(2))
        elif section == 'course':
            m = COURSE.match(line)
            if m:
                name, v = 'course: ' + m.group(1), float(m.group(2))
        elif section == 'scaling':
            m = SCALE.match(line)
            if m:
                k = int(m.group(1))
                times['tr(X^%d)' % k] = float(m.group(2))
                times['tr(A1 X ... A%d X)' % k] = float(m.group(4))
        if name is not None:
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name += ' #%d' % seen[name]
            times[name] = v
    return times


def run(prog, reps, clock, filt=None):
    env = dict(os.environ, OPENBLAS_NUM_THREADS='1', BENCH_CLOCK=clock)
    argv = [prog, str(reps)] + ([filt] if filt else [])
    out = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
    return parse(out.stdout)


def uptime():
    try:
        return subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()
    except OSError:
        return '(uptime not available)'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('old')
    ap.add_argument('new')
    ap.add_argument('--reps', type=int, default=300, help='repetitions per case in one run')
    ap.add_argument('--rounds', type=int, default=3, help='runs of each program')
    ap.add_argument('--limit', type=float, default=1.20, help='slowdown flagged (new/old)')
    ap.add_argument('--clock', choices=('wall', 'cpu'), default='wall',
                    help='cpu: BENCH_CLOCK=cpu, the thread\'s CPU time (both programs must '
                    'know it: bench_diff.c since issue 12)')
    ap.add_argument('--filter', help='only the cases whose text contains it (bench_diff FILTER)')
    ap.add_argument('--stat', choices=('median', 'min'), default='median',
                    help='per case over the rounds: min takes the fast level of a machine '
                    'whose speed flips between two (here: 8 or 13 µs for one case, whole '
                    'stretches of cases at a time, whichever build runs)')
    a = ap.parse_args()

    print('load before:', uptime())
    old_runs, new_runs = [], []
    for r in range(a.rounds):
        order = [(a.old, old_runs), (a.new, new_runs)]
        for prog, runs in (order if r % 2 == 0 else order[::-1]):
            runs.append(run(prog, a.reps, a.clock, a.filter))
        print('round %d of %d done' % (r + 1, a.rounds), file=sys.stderr)
    print('load after: ', uptime())

    def med(runs):
        names = {}
        for t in runs:
            for k, v in t.items():
                names.setdefault(k, []).append(v)
        stat = min if a.stat == 'min' else statistics.median
        return {k: stat(v) for k, v in names.items()}

    old, new = med(old_runs), med(new_runs)
    both = [k for k in new if k in old]
    only_new = [k for k in new if k not in old]
    only_old = [k for k in old if k not in new]

    print('\n%d rounds of %d repetitions, %s clock; per case the %s over the rounds of '
          'bench_diff\'s median, in µs; ratio = new / old\n' % (a.rounds, a.reps, a.clock,
                                                                a.stat))
    print('%-72s %10s %10s %7s' % ('case', 'old', 'new', 'ratio'))
    ratios = []
    for k in both:
        r = new[k] / old[k] if old[k] > 0 else float('inf')
        if not k.startswith('rule loading'):
            ratios.append((r, k))
        flag = '  <-- slower by more than %.0f %%' % ((a.limit - 1) * 100) if r > a.limit else ''
        print('%-72.72s %10.1f %10.1f %7.2f%s' % (k, old[k], new[k], r, flag))
    if only_new:
        print('\nnew since OLD (no baseline):')
        for k in only_new:
            print('%-72.72s %10s %10.1f' % (k, '-', new[k]))
    if only_old:
        print('\nonly in OLD:')
        for k in only_old:
            print('%-72.72s %10.1f %10s' % (k, old[k], '-'))
    if ratios:
        rs = sorted(r for r, _ in ratios)
        worst = max(ratios)
        over = [k for r, k in ratios if r > a.limit]
        print('\n%d matched cases: median ratio %.2f, fastest %.2f, slowest %.2f (%s)'
              % (len(rs), statistics.median(rs), rs[0], worst[0], worst[1]))
        print('slower by more than %.0f %%: %d%s' % ((a.limit - 1) * 100, len(over),
                                                   (': ' + '; '.join(over)) if over else ''))
    ks = sorted(int(m.group(1)) for k in new for m in [re.match(r'tr\(A1 X \.\.\. A(\d+) X\)', k)] if m)
    if len(ks) > 1:
        print('\ntr(A1 X ... Ak X), new: time ratio per doubling of k (4 = quadratic)')
        for lo, hi in zip(ks, ks[1:]):
            t0, t1 = new['tr(A1 X ... A%d X)' % lo], new['tr(A1 X ... A%d X)' % hi]
            print('  k %2d -> %2d: %8.1f -> %10.1f µs  x%.2f' % (lo, hi, t0, t1, t1 / t0))


if __name__ == '__main__':
    main()
