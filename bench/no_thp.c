/* no_thp.c - runs a program with transparent huge pages refused to it (and to
 * what it starts): prctl(PR_SET_THP_DISABLE) survives exec. For measuring what
 * reading costs on a system without them (docs/performance.md, "Reading").
 *
 * Usage: no_thp PROGRAM [ARGS...] */
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: no_thp PROGRAM [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0) {
		perror("no_thp: prctl");
		return 2;
	}
	execv(argv[1], argv + 1);
	perror("no_thp: execv");
	return 2;
}
