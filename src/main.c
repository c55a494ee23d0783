/* main.c - the command line: options, -e statements, files, stdin, and the REPL. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "matcalc.h"

/* In repl.c: the REPL, and how the program prints a statement's result. */
int repl_run(struct matcalc *m);
void cli_print_result(void *arg, const struct matcalc_result *r);

static void usage(FILE *out)
{
	/* the library's options come from its table (src/options.c) */
	char *options = matcalc_options_help();
	fputs("usage: matcalc [options] [FILE]\n"
	      "       matcalc [options] -e STATEMENT [-e STATEMENT ...]\n"
	      "       matcalc [options] --check-derivation FILE [-e STATEMENT ...]\n"
	      "       matcalc [options] grade PROBLEMS SUBMISSION...   (docs/grading.md)\n"
	      "\n"
	      "Symbolic matrix calculus: gradients of scalar functions of matrices and vectors,\n"
	      "with the Matrix Cookbook identities, in plain text, LaTeX or NumPy.\n"
	      "\n"
	      "With no FILE and no -e, matcalc starts a REPL on a terminal and reads\n"
	      "statements from standard input otherwise.\n"
	      "\n"
	      "options:\n"
	      "  -e STATEMENT     run STATEMENT (repeatable, in order)\n",
	      out);
	fputs(options, out);
	matcalc_free(options);
	fputs("  --list-rules     print the loaded rules with their citations\n"
	      "  --version        print the version\n"
	      "  --help           print this help\n"
	      "\n"
	      "exit status: 0 ok, 1 a check or gradcheck failed, 2 an error\n"
	      "examples:\n"
	      "  matcalc -e 'grad(tr(Θ^T X X^T Θ), Θ)'\n"
	      "  matcalc --latex -e 'grad(||y - X θ||^2, θ)'\n",
	      out);
}

/* A derivation file is checked whole (its steps refer to each other), so it
 * is read into memory: at most limit bytes of it (--max-input; 0: no limit).
 * NULL with a message on stderr when it is larger or cannot be read. */
static char *read_all(FILE *f, const char *path, size_t limit, size_t *len)
{
	char *text = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (limit && *len > limit) {
			fprintf(stderr,
				"matcalc: error: %s is larger than the input limit of %zu MB: "
				"--max-input MB raises it\n",
				path, limit >> 20);
			free(text);
			return NULL;
		}
		if (cap - *len < 65536) {
			cap = cap ? 2 * cap : 65536;
			char *grown = realloc(text, cap + 1);
			if (!grown) {
				fputs("matcalc: error: out of memory\n", stderr);
				free(text);
				return NULL;
			}
			text = grown;
		}
		size_t n = fread(text + *len, 1, cap - *len, f);
		if (n == 0)
			break;
		*len += n;
	}
	if (ferror(f)) {
		fprintf(stderr, "matcalc: error: cannot read %s: %s\n", path, strerror(errno));
		free(text);
		return NULL;
	}
	text[*len] = '\0';
	return text;
}

int main(int argc, char **argv)
{
	/* OpenBLAS starts its worker threads while it is loaded, before main runs:
	 * openblas_set_num_threads comes too late, and an idle worker can spin
	 * forever at exit when memory is short. Under a limit on the address
	 * space, one thread unless the user asks for more: set the variable and
	 * start again, once (docs/design.md). Without a limit the second start
	 * would cost more than half of a short run; matcalc_open then sets one
	 * thread, as before. */
	struct rlimit as;
	if (!getenv("OPENBLAS_NUM_THREADS") && getrlimit(RLIMIT_AS, &as) == 0 &&
	    as.rlim_cur != RLIM_INFINITY && setenv("OPENBLAS_NUM_THREADS", "1", 1) == 0)
		execv("/proc/self/exe", argv); /* returns only without /proc: go on */
	struct matcalc *m = matcalc_open();
	if (!m) {
		fputs("matcalc: error: out of memory (OpenBLAS's 128 MB work buffer does not "
		      "fit)\n",
		      stderr);
		return 2;
	}
	const char **exprs = malloc((size_t)argc * sizeof *exprs);
	int nexprs = 0;
	const char *file = NULL;
	const char **graded = malloc((size_t)argc * sizeof *graded); /* grade's files */
	int ngraded = 0;
	bool grade = false;
	char *derivation = NULL; /* --check-derivation FILE */
	int rc = 0;
	bool list_rules = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-e") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "matcalc: error: %s needs a value\n", a);
				rc = 2;
				goto out;
			}
			exprs[nexprs++] = argv[++i];
		} else if (strcmp(a, "--list-rules") == 0) {
			list_rules = true;
		} else if (strcmp(a, "--version") == 0) {
			printf("matcalc %s\n", matcalc_version());
			goto out;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			goto out;
		} else if (a[0] == '-' && a[1]) {
			/* every other option is in the library's table */
			int arity = matcalc_option_arity(a);
			const char *val = NULL;
			if (arity < 0) {
				fprintf(stderr,
					"matcalc: error: unknown option '%s' (see matcalc --help)\n",
					a);
				rc = 2;
				goto out;
			}
			if (arity == 1 && !strchr(a, '=')) {
				if (i + 1 >= argc) {
					fprintf(stderr, "matcalc: error: %s needs a value\n", a);
					rc = 2;
					goto out;
				}
				val = argv[++i];
			}
			if (matcalc_set_option(m, a, val) != MATCALC_OK) {
				fprintf(stderr, "matcalc: error: %s\n", matcalc_errmsg(m));
				rc = 2;
				goto out;
			}
		} else if (grade) {
			graded[ngraded++] = a;
		} else if (!file && strcmp(a, "grade") == 0) {
			grade = true; /* matcalc grade PROBLEMS SUBMISSIONS... (./grade is a file) */
		} else if (file) {
			fprintf(stderr, "matcalc: error: one FILE at most (got '%s' and '%s')\n",
				file, a);
			rc = 2;
			goto out;
		} else {
			file = a;
		}
	}
	/* copied: the option's value is borrowed until the next call on m */
	const char *dv = matcalc_get_option(m, "--check-derivation");
	derivation = dv && *dv ? strdup(dv) : NULL;
	if (grade && ngraded < 2) {
		fprintf(stderr, "matcalc: error: usage: matcalc grade PROBLEMS SUBMISSION...\n");
		rc = 2;
		goto out;
	}
	if ((grade || derivation) && file) {
		fprintf(stderr, "matcalc: error: give FILE, --check-derivation or grade, not two\n");
		rc = 2;
		goto out;
	}
	if (file && nexprs) {
		fprintf(stderr, "matcalc: error: give either FILE or -e, not both\n");
		rc = 2;
		goto out;
	}
	if (matcalc_load_rules(m) != MATCALC_OK) {
		fputs(matcalc_errmsg(m), stderr);
		rc = 2;
		goto out;
	}
	if (list_rules) {
		char *listing = NULL;
		if (matcalc_list_rules(m, NULL, &listing) == MATCALC_OK)
			fputs(listing, stdout);
		matcalc_free(listing);
		if (!file && !nexprs)
			goto out;
	}
	if (grade) {
		char *out = NULL, *errs = NULL;
		rc = matcalc_grade(m, graded[0], graded + 1, ngraded - 1, &out, &errs);
		fputs(out ? out : "", stdout);
		fflush(stdout);
		fputs(errs ? errs : "", stderr);
		matcalc_free(out);
		matcalc_free(errs);
	} else if (derivation) {
		/* -e statements first: the derivation's declarations */
		for (int i = 0; i < nexprs && rc < 2; i++) {
			int st = matcalc_run(m, "-e", exprs[i], strlen(exprs[i]), cli_print_result, m);
			if (st > rc)
				rc = st;
		}
		FILE *f = rc < 2 ? fopen(derivation, "rb") : NULL;
		if (!f && rc < 2) {
			fprintf(stderr, "matcalc: error: cannot open %s: %s\n", derivation,
				strerror(errno));
			rc = 2;
		}
		if (f) {
			size_t len;
			const char *mb = matcalc_get_option(m, "--max-input");
			char *text = read_all(f, derivation, mb ? (size_t)strtoull(mb, NULL, 10) << 20 : 0,
					      &len);
			fclose(f);
			if (!text) {
				rc = 2;
				goto out;
			}
			char *out = NULL, *errs = NULL;
			int st = matcalc_check_derivation(m, derivation, text, len, &out, &errs);
			fputs(out ? out : "", stdout);
			fflush(stdout);
			fputs(errs ? errs : "", stderr);
			matcalc_free(out);
			matcalc_free(errs);
			free(text);
			if (st > rc)
				rc = st;
		}
	} else if (nexprs) {
		for (int i = 0; i < nexprs; i++) {
			int st = matcalc_run(m, "-e", exprs[i], strlen(exprs[i]), cli_print_result,
					     m);
			if (st > rc)
				rc = st;
			if (st == MATCALC_ERROR)
				break;
		}
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
		/* run as it is read: memory does not grow with the file's length */
		rc = matcalc_run_stream(m, file ? file : "<stdin>", f, cli_print_result, m);
		if (f != stdin)
			fclose(f);
	} else {
		rc = repl_run(m);
	}
out:
	fflush(stdout);
	free(exprs);
	free(graded);
	free(derivation);
	matcalc_close(m);
	return rc;
}
