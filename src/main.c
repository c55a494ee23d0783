/* main.c - the command line: options, -e statements, files, stdin, and the REPL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "command.h"
#include "derivation.h"
#include "repl.h"
#include "session.h"
#include "value.h"

#ifndef MATCALC_VERSION
#define MATCALC_VERSION "0.1.0"
#endif

static void usage(FILE *out)
{
	fputs("usage: matcalc [options] [FILE]\n"
	      "       matcalc [options] -e STATEMENT [-e STATEMENT ...]\n"
	      "\n"
	      "Symbolic matrix calculus: gradients of scalar functions of matrices and vectors,\n"
	      "with the Matrix Cookbook identities, in plain text, LaTeX or NumPy.\n"
	      "\n"
	      "With no FILE and no -e, matcalc starts a REPL on a terminal and reads\n"
	      "statements from standard input otherwise.\n"
	      "\n"
	      "options:\n"
	      "  -e STATEMENT     run STATEMENT (repeatable, in order)\n"
	      "  --latex          print results as LaTeX\n"
	      "  --ascii          print Greek letters as ASCII names (Theta)\n"
	      "  --steps          print the derivation, one line per rule with its citation\n"
	      "  --emit=numpy     print a Python module computing value and gradient\n"
	      "  --emit=c         print a C function computing value and gradient\n"
	      "  --precision N    significant digits of printed numbers (default 6)\n"
	      "  --seed N         seed of rand, randn and check's random instances\n"
	      "  --rules DIR      read the rule files from DIR (default: installed rules;\n"
	      "                   environment MATCALC_RULES)\n"
	      "  --list-rules     print the loaded rules with their citations\n"
	      "  --hide-answer    never print the correct answer of a failed check\n"
	      "  --check-derivation FILE\n"
	      "                   check a derivation (LaTeX align blocks or = lines) step by step\n"
	      "  --version        print the version\n"
	      "  --help           print this help\n"
	      "\n"
	      "exit status: 0 ok, 1 a check or gradcheck failed, 2 an error\n"
	      "examples:\n"
	      "  matcalc -e 'grad(tr(Θ^T X X^T Θ), Θ)'\n"
	      "  matcalc --latex -e 'grad(||y - X θ||^2, θ)'\n",
	      out);
}

static char *read_all(FILE *f, size_t *len)
{
	struct sbuf b = {0};
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		sbuf_addn(&b, buf, n);
	*len = b.len;
	return sbuf_take(&b);
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	/* OpenBLAS's worker threads wait for work by spinning, taking a core from
	 * every matcalc process even when it only does algebra; one thread unless
	 * the user asks for more (OPENBLAS_NUM_THREADS) */
	if (!getenv("OPENBLAS_NUM_THREADS"))
		openblas_set_num_threads(1);
	struct session *s = session_new(stdout, stderr);
	const char **exprs = mc_xmalloc((size_t)argc * sizeof *exprs);
	int nexprs = 0;
	const char *file = NULL;
	const char *rules_dir = getenv("MATCALC_RULES");
	int rc = 0;
	bool list_rules = false;
	const char *derivation = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		if (strcmp(a, "-e") == 0 || strcmp(a, "--precision") == 0 ||
		    strcmp(a, "--check-derivation") == 0 ||
		    strcmp(a, "--seed") == 0 || strcmp(a, "--rules") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "matcalc: error: %s needs a value\n", a);
				rc = 2;
				goto out;
			}
			val = argv[++i];
		} else if (strncmp(a, "--precision=", 12) == 0 || strncmp(a, "--seed=", 7) == 0 ||
			   strncmp(a, "--rules=", 8) == 0) {
			val = strchr(a, '=') + 1;
		}
		if (strcmp(a, "-e") == 0) {
			exprs[nexprs++] = val;
		} else if (strcmp(a, "--check-derivation") == 0) {
			derivation = val;
		} else if (strncmp(a, "--precision", 11) == 0) {
			long v;
			if (!parse_long(val, 1, 17, &v)) {
				fprintf(stderr,
					"matcalc: error: --precision takes 1 to 17 digits\n");
				rc = 2;
				goto out;
			}
			s->mc->precision = (int)v;
			s->mc->exact_errors = true;
		} else if (strncmp(a, "--seed", 6) == 0) {
			long v;
			if (!parse_long(val, 0, 0x7fffffffL, &v)) {
				fprintf(stderr, "matcalc: error: --seed takes a whole number\n");
				rc = 2;
				goto out;
			}
			value_seed(s, (unsigned long)v);
		} else if (strncmp(a, "--rules", 7) == 0) {
			rules_dir = val;
		} else if (strcmp(a, "--latex") == 0) {
			s->latex = true;
		} else if (strcmp(a, "--ascii") == 0) {
			s->mc->ascii = true;
		} else if (strcmp(a, "--steps") == 0) {
			s->steps = true;
		} else if (strcmp(a, "--emit=numpy") == 0) {
			s->emit_numpy = true;
		} else if (strcmp(a, "--emit=c") == 0) {
			s->emit_c = true;
		} else if (strcmp(a, "--hide-answer") == 0) {
			s->hide_answer = true;
		} else if (strcmp(a, "--list-rules") == 0) {
			list_rules = true;
		} else if (strcmp(a, "--version") == 0) {
			printf("matcalc %s\n", MATCALC_VERSION);
			goto out;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			goto out;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr,
				"matcalc: error: unknown option '%s' (see matcalc --help)\n", a);
			rc = 2;
			goto out;
		} else if (file) {
			fprintf(stderr, "matcalc: error: one FILE at most (got '%s' and '%s')\n",
				file, a);
			rc = 2;
			goto out;
		} else {
			file = a;
		}
	}
	if (file && nexprs) {
		fprintf(stderr, "matcalc: error: give either FILE or -e, not both\n");
		rc = 2;
		goto out;
	}
	s->rules_dir = rules_dir;
	if (!command_load_rules(s)) {
		rc = 2;
		goto out;
	}
	if (list_rules) {
		command_list_rules(s);
		if (!file && !nexprs)
			goto out;
	}
	if (derivation) {
		/* -e statements first: the derivation's declarations */
		for (int i = 0; i < nexprs; i++)
			if (!session_run(s, "-e", exprs[i], strlen(exprs[i])))
				break;
		FILE *f = s->status < 2 ? fopen(derivation, "rb") : NULL;
		if (!f && s->status < 2) {
			fprintf(stderr, "matcalc: error: cannot open %s: %s\n", derivation,
				strerror(errno));
			rc = 2;
			goto out;
		}
		if (f) {
			size_t len;
			char *text = read_all(f, &len);
			fclose(f);
			derivation_check(s, derivation, text, len);
			free(text);
		}
		rc = s->status;
	} else if (nexprs) {
		for (int i = 0; i < nexprs; i++)
			if (!session_run(s, "-e", exprs[i], strlen(exprs[i])))
				break;
		rc = s->status;
	} else if (file || !isatty(STDIN_FILENO)) {
		FILE *f = stdin;
		if (file && strcmp(file, "-") != 0) {
			f = fopen(file, "rb");
			if (!f) {
				fprintf(stderr, "matcalc: error: cannot open %s: %s\n", file,
					strerror(errno));
				rc = 2;
				goto out;
			}
		}
		size_t len;
		char *text = read_all(f, &len);
		if (f != stdin)
			fclose(f);
		session_run(s, file ? file : "<stdin>", text, len);
		free(text);
		rc = s->status;
	} else {
		rc = repl_run(s);
	}
out:
	fflush(stdout);
	free(exprs);
	session_free(s);
	return rc;
}
