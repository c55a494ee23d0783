/* matcalc.h - libmatcalc, the one public header: symbolic matrix calculus for embedders. */
#ifndef MATCALC_H
#define MATCALC_H

/*
 * A session (struct matcalc) holds declarations, definitions, values and
 * options, like one run of the matcalc program. Statements are run one at a
 * time and each gives a result as data: what it printed, its result in plain
 * text, LaTeX or JSON, a verdict for check and gradcheck, an exit status, and
 * an error with line and column. The library never prints and never exits.
 *
 * Ownership, once for the whole header:
 *  - Arguments are borrowed: the library copies what it keeps.
 *  - A `char *` or `double *` that a function returns through an out
 *    parameter, or as its value, is owned by the caller and freed with
 *    matcalc_free.
 *  - A `const char *` returned is borrowed from the session and valid until
 *    the call named at that function (at the latest matcalc_close).
 *
 * Status codes: every call that can fail returns an enum matcalc_status; the
 * three first values are the program's exit statuses. A session stays usable
 * after any error. One session must not be used by two threads at once;
 * distinct sessions are independent.
 *
 * Compatibility: within a major version, functions are only added, never
 * changed or removed; the status and form enums only grow.
 */

#include <stddef.h>
#include <stdio.h>

#define MATCALC_VERSION_MAJOR 0
#define MATCALC_VERSION_MINOR 1
#define MATCALC_VERSION_PATCH 0
#define MATCALC_VERSION_STRING "0.1.0"
/* major * 10000 + minor * 100 + patch, for #if */
#define MATCALC_VERSION_NUMBER 100

/* What the library exports; it is built with hidden visibility, so nothing
 * else is. */
#if defined(__GNUC__) && __GNUC__ >= 4
#define MATCALC_API __attribute__((visibility("default")))
#else
#define MATCALC_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct matcalc;	       /* a session */
struct matcalc_result; /* the result of one statement */

enum matcalc_status {
	MATCALC_OK = 0,		/* done; a check holds */
	MATCALC_FAILED = 1,	/* a check or gradcheck failed (exit status 1) */
	MATCALC_ERROR = 2,	/* input matcalc cannot read or run (exit status 2) */
	MATCALC_MISUSE = 3,	/* a bad call: unknown option, bad option value, NULL argument */
	MATCALC_INCOMPLETE = 4, /* the text ends inside an open bracket: nothing was run */
};

/* The forms a result can be printed in. */
enum matcalc_form {
	MATCALC_PLAIN = 0, /* one line that parses back (SPEC 4) */
	MATCALC_LATEX = 1, /* MC/slide notation */
	MATCALC_NUMPY = 2, /* a Python module: fun(ARGS) -> value, gradient */
	MATCALC_C = 3,	   /* a C function computing value and gradient */
};

/* ---- version ---- */

/* The library's version at run time ("0.1.0"), static storage. */
MATCALC_API const char *matcalc_version(void);
/* MATCALC_VERSION_NUMBER of the library at run time. */
MATCALC_API int matcalc_version_number(void);

/* ---- sessions ---- */

/* A new session with the default options (rules from $MATCALC_RULES, else the
 * installed rules). Returns NULL only when out of memory. Free with
 * matcalc_close. */
MATCALC_API struct matcalc *matcalc_open(void);
/* Frees the session and everything borrowed from it. NULL is fine. */
MATCALC_API void matcalc_close(struct matcalc *m);
/* Frees what the library returned as owned (strings, arrays). NULL is fine. */
MATCALC_API void matcalc_free(void *p);
/* Stops the statement running now, in any session of the process, at its next
 * check (a few microseconds of algebra; a single BLAS call runs to its end):
 * it ends with the error "interrupted" (MATCALC_ERROR) and the session is kept.
 * Async-signal-safe: for a SIGINT handler. A call while nothing runs is
 * forgotten when the next statement starts. */
MATCALC_API void matcalc_interrupt(void);

/* The last error of a session-level call (options, derive, check, eval,
 * emit): its message ("unknown function 'tarce' (did you mean 'tr'?)"); for
 * the rule files, every report as the program prints it ("matcalc:
 * FILE:LINE:COL: error: ..." with the line and a caret). "" if none.
 * Borrowed until the next call on m. */
MATCALC_API const char *matcalc_errmsg(const struct matcalc *m);
/* Line and column (1-based; columns count characters) of that error in the
 * text it was about, or 0 when it has none. */
MATCALC_API int matcalc_errline(const struct matcalc *m);
MATCALC_API int matcalc_errcol(const struct matcalc *m);

/* Loads the rule files now (otherwise the first statement that needs them
 * does). MATCALC_ERROR with matcalc_errmsg holding every broken rule's
 * file:line:col report. */
MATCALC_API int matcalc_load_rules(struct matcalc *m);

/* ---- options ----
 * One table in the library (src/options.c) serves the command line, the REPL
 * and embedders: names are the command line's ("--latex", "--precision",
 * "--emit=numpy"). A switch takes value NULL, "on" or "off". */

/* 0: name is a switch; 1: it takes a value; -1: no such option. A name of the
 * form "--opt=VALUE" is an option taking a value when "--opt" is one. */
MATCALC_API int matcalc_option_arity(const char *name);
/* Sets an option. MATCALC_MISUSE with matcalc_errmsg ("--precision takes 1 to
 * 17 digits") for an unknown name or a bad value. */
MATCALC_API int matcalc_set_option(struct matcalc *m, const char *name, const char *value);
/* The option's current value ("on"/"off" for a switch), or NULL when unknown.
 * Borrowed until the next call on m. */
MATCALC_API const char *matcalc_get_option(struct matcalc *m, const char *name);
/* The options' lines of --help ("  --latex          print results as LaTeX\n"
 * ...), in the table's order. Owned: matcalc_free. */
MATCALC_API char *matcalc_options_help(void);

/* ---- running statements ---- */

/* Starts running a text (one or more statements; where names it in errors:
 * "-e", a file name). The text is copied. With partial nonzero, a text that
 * ends inside an open bracket returns MATCALC_INCOMPLETE and runs nothing (a
 * REPL then reads another line). Otherwise MATCALC_OK, or MATCALC_MISUSE for
 * a NULL argument. A text started earlier and not finished is dropped. */
MATCALC_API int matcalc_start(struct matcalc *m, const char *where, const char *text, size_t len,
			      int partial);
/* Runs the next statement of the text started and returns its result, or
 * NULL when there is none left. A text that does not parse gives one result
 * with the syntax error; running stops after a statement that fails with
 * MATCALC_ERROR. The result is borrowed until the next matcalc_next,
 * matcalc_start or matcalc_run. */
MATCALC_API const struct matcalc_result *matcalc_next(struct matcalc *m);

/* Runs a whole text, calling fn (if not NULL) with each statement's result
 * (borrowed for the call). Returns the text's status: MATCALC_OK,
 * MATCALC_FAILED when a check failed, MATCALC_ERROR on the first error. */
typedef void (*matcalc_result_fn)(void *arg, const struct matcalc_result *r);
MATCALC_API int matcalc_run(struct matcalc *m, const char *where, const char *text, size_t len,
			    matcalc_result_fn fn, void *arg);

/* Runs the statements of a stream (a file, standard input) as they are read,
 * a piece of whole lines at a time, so memory does not grow with the stream's
 * length (issue 9): fn gets each statement's result as matcalc_run gives it,
 * with the stream's line numbers. A statement longer than --max-input, or a
 * stream that cannot be read (a directory), ends it with one error result.
 * Returns the status as matcalc_run does; f is not closed. */
MATCALC_API int matcalc_run_stream(struct matcalc *m, const char *where, FILE *f,
				   matcalc_result_fn fn, void *arg);

/* A result's status: MATCALC_OK, MATCALC_FAILED or MATCALC_ERROR. */
MATCALC_API int matcalc_result_status(const struct matcalc_result *r);
/* The statement's source text ("" for a text that did not parse). */
MATCALC_API const char *matcalc_result_statement(const struct matcalc_result *r);
/* Everything the statement printed, as the program prints it on stdout in the
 * session's options (--latex, --steps, --emit=...): "" when nothing. */
MATCALC_API const char *matcalc_result_output(const struct matcalc_result *r);
/* The statement's result (a simplified expression, derivative, factored form
 * or solution) in plain text or LaTeX, or NULL when it has none (a let, a
 * definition, check, eval, an error). The numeric value of eval is in output. */
MATCALC_API const char *matcalc_result_plain(const struct matcalc_result *r);
MATCALC_API const char *matcalc_result_latex(const struct matcalc_result *r);
/* check and gradcheck: 1 holds, 0 fails; -1 for any other statement or an error. */
MATCALC_API int matcalc_result_verdict(const struct matcalc_result *r);
/* The error (MATCALC_ERROR): message ("unknown function 'tarce' (did you mean
 * 'tr'?)"), line and column (1-based, 0 when none), and the report as the
 * program prints it on stderr ("matcalc: -e:1:1: error: ...\n<line>\n<caret>\n").
 * NULL / 0 without an error. */
MATCALC_API const char *matcalc_result_errmsg(const struct matcalc_result *r);
MATCALC_API int matcalc_result_line(const struct matcalc_result *r);
MATCALC_API int matcalc_result_column(const struct matcalc_result *r);
MATCALC_API const char *matcalc_result_report(const struct matcalc_result *r);
/* The result as one JSON object: {"statement", "status", "output", "plain",
 * "latex", "verdict", "error": {"message", "line", "column"}} (absent fields
 * omitted). Owned: matcalc_free. */
MATCALC_API char *matcalc_result_json(const struct matcalc_result *r);

/* ---- one-call operations ----
 * Each runs one expression in the session (its declarations, definitions and
 * values) without printing; errors are in matcalc_errmsg/errline/errcol, with
 * columns counted in the text given. */

/* Works out grad/hess/jacobian/d inside text ("grad(tr(Θ^T X X^T Θ), Θ)")
 * and simplifies; *out is the expression in form (MATCALC_NUMPY and
 * MATCALC_C: the generated code). Owned: matcalc_free. */
MATCALC_API int matcalc_derive(struct matcalc *m, const char *text, enum matcalc_form form,
			       char **out);
/* Checks an identity "a = b" (also "a = b = c"): MATCALC_OK when it holds,
 * MATCALC_FAILED when not, MATCALC_ERROR. *report (may be NULL) receives what
 * check prints (the instance, both values, the correct answer). Owned. */
MATCALC_API int matcalc_check(struct matcalc *m, const char *equation, char **report);
/* Evaluates text with the session's bound values into a dense column-major
 * array of *rows x *cols doubles (entry (i, j) at [j * rows + i]). Owned. */
MATCALC_API int matcalc_eval(struct matcalc *m, const char *text, double **values, long *rows,
			     long *cols);
/* Generates code for text in form MATCALC_NUMPY or MATCALC_C (as --emit).
 * Owned: matcalc_free. */
MATCALC_API int matcalc_emit(struct matcalc *m, const char *text, enum matcalc_form form,
			     char **code);

/* Forgets every declaration, definition and value (the REPL's :reset); the
 * options stay, and the rules are read again when next needed. */
MATCALC_API int matcalc_reset(struct matcalc *m);

/* ---- grading ---- */

/* Checks the derivation in text (as --check-derivation FILE; where names the
 * file): one verdict per step with the file's line. *out receives what it
 * prints (the verdicts and a summary), *errors the reports of lines that
 * cannot be read; both owned (matcalc_free), either may be NULL. Returns
 * MATCALC_OK (every step holds), MATCALC_FAILED (a step is wrong) or
 * MATCALC_ERROR (a line could not be read). */
MATCALC_API int matcalc_check_derivation(struct matcalc *m, const char *where, const char *text,
					 size_t len, char **out, char **errors);
/* Grades the submission files against the problem file (docs/grading.md):
 * *out receives the table (one JSON object per submission with
 * --format=json), *errors the reports; with --gradescope DIR results.json is
 * written. An unreadable answer or submission never stops the others.
 * MATCALC_OK, or MATCALC_ERROR when the problem file cannot be used or a
 * submission file cannot be read (the others are still graded). */
MATCALC_API int matcalc_grade(struct matcalc *m, const char *problems,
			      const char *const *submissions, int nsubmissions, char **out,
			      char **errors);

/* ---- introspection (the REPL's :vars, :rules and completion) ---- */

/* The declared and defined names with their kinds and small values, one a
 * line, as :vars prints them. Owned. */
MATCALC_API char *matcalc_describe_names(struct matcalc *m);
/* The loaded rules whose text, citation or section contains pattern (all with
 * NULL or ""), one a line, as --list-rules prints them (LaTeX rows with
 * --latex). MATCALC_ERROR when the rules cannot be loaded. Owned. */
MATCALC_API int matcalc_list_rules(struct matcalc *m, const char *pattern, char **out);
/* Calls fn with every name a user can complete: functions, declared and
 * defined names, and the ASCII spelling of Greek ones (theta). */
MATCALC_API void matcalc_names(struct matcalc *m, void (*fn)(void *arg, const char *name),
			       void *arg);

#ifdef __cplusplus
}
#endif

#endif
