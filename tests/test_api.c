/* test_api.c - libmatcalc driven as an embedder drives it: matcalc.h only, results as data. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "matcalc.h"

static struct matcalc *open_session(void)
{
	struct matcalc *m = matcalc_open();
	ck_assert_ptr_nonnull(m);
	return m;
}

START_TEST(test_version)
{
	ck_assert_str_eq(matcalc_version(), MATCALC_VERSION_STRING);
	ck_assert_str_eq(matcalc_version(), MESON_PROJECT_VERSION);
	ck_assert_int_eq(matcalc_version_number(), MATCALC_VERSION_NUMBER);
	ck_assert_int_eq(MATCALC_VERSION_NUMBER, MATCALC_VERSION_MAJOR * 10000 +
						     MATCALC_VERSION_MINOR * 100 +
						     MATCALC_VERSION_PATCH);
}
END_TEST

/* The course's first gradient, statement by statement with matcalc_next. */
START_TEST(test_next_results)
{
	struct matcalc *m = open_session();
	const char *text = "let Θ : matrix(n, k)\nlet X : matrix(n, m)\ngrad(tr(Θ^T X X^T Θ), Θ)\n";
	ck_assert_int_eq(matcalc_start(m, "course", text, strlen(text), 0), MATCALC_OK);
	const struct matcalc_result *r = matcalc_next(m);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(matcalc_result_status(r), MATCALC_OK);
	ck_assert_str_eq(matcalc_result_statement(r), "let Θ : matrix(n, k)");
	ck_assert_str_eq(matcalc_result_output(r), "");
	ck_assert_ptr_null(matcalc_result_plain(r));
	ck_assert_ptr_nonnull(matcalc_next(m));
	r = matcalc_next(m);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(matcalc_result_statement(r), "grad(tr(Θ^T X X^T Θ), Θ)");
	ck_assert_str_eq(matcalc_result_plain(r), "2 X X^T Θ");
	ck_assert_str_eq(matcalc_result_output(r), "2 X X^T Θ\n");
	ck_assert_str_eq(matcalc_result_latex(r),
			 "2 \\mathbf{X} \\mathbf{X}^\\top \\boldsymbol{\\Theta}");
	ck_assert_int_eq(matcalc_result_verdict(r), -1);
	ck_assert_ptr_null(matcalc_result_errmsg(r));
	char *json = matcalc_result_json(r);
	ck_assert_ptr_nonnull(strstr(json, "\"plain\": \"2 X X^T Θ\""));
	ck_assert_ptr_nonnull(strstr(json, "\"status\": \"ok\""));
	matcalc_free(json);
	ck_assert_ptr_null(matcalc_next(m));
	ck_assert_ptr_null(matcalc_next(m));
	matcalc_close(m);
}
END_TEST

/* An error comes back with line, column, message and the report with its caret;
 * the session stays usable and keeps its declarations. */
START_TEST(test_error_line_col)
{
	struct matcalc *m = open_session();
	const char *text = "let A : matrix(n, n)\n\n  tarce(A)\ntr(A)\n";
	ck_assert_int_eq(matcalc_start(m, "file.mc", text, strlen(text), 0), MATCALC_OK);
	ck_assert_ptr_nonnull(matcalc_next(m));
	const struct matcalc_result *r = matcalc_next(m);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(matcalc_result_status(r), MATCALC_ERROR);
	ck_assert_str_eq(matcalc_result_errmsg(r), "unknown function 'tarce' (did you mean 'tr'?)");
	ck_assert_int_eq(matcalc_result_line(r), 3);
	ck_assert_int_eq(matcalc_result_column(r), 3);
	ck_assert_str_eq(matcalc_result_report(r),
			 "matcalc: file.mc:3:3: error: unknown function 'tarce' (did you mean "
			 "'tr'?)\n  tarce(A)\n  ^\n");
	char *json = matcalc_result_json(r);
	ck_assert_ptr_nonnull(strstr(json, "\"line\": 3, \"column\": 3"));
	matcalc_free(json);
	/* running stops at the error */
	ck_assert_ptr_null(matcalc_next(m));
	/* the declaration survived */
	char *out = NULL;
	ck_assert_int_eq(matcalc_derive(m, "grad(tr(A), A)", MATCALC_PLAIN, &out), MATCALC_OK);
	ck_assert_str_eq(out, "I");
	matcalc_free(out);
	matcalc_close(m);
}
END_TEST

START_TEST(test_syntax_error)
{
	struct matcalc *m = open_session();
	const char *text = "tr(A)\ntr(A +)";
	ck_assert_int_eq(matcalc_start(m, "-e", text, strlen(text), 0), MATCALC_OK);
	const struct matcalc_result *r = matcalc_next(m);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(matcalc_result_status(r), MATCALC_ERROR);
	ck_assert_int_eq(matcalc_result_line(r), 2);
	ck_assert_int_eq(matcalc_result_column(r), 7);
	ck_assert_ptr_nonnull(strstr(matcalc_result_report(r), "matcalc: -e:2:7: error: "));
	ck_assert_ptr_null(matcalc_next(m));
	/* partial: an open bracket asks for more, nothing runs */
	ck_assert_int_eq(matcalc_start(m, "<input>", "tr(A", 4, 1), MATCALC_INCOMPLETE);
	ck_assert_ptr_null(matcalc_next(m));
	matcalc_close(m);
}
END_TEST

struct collected {
	int n;
	int statuses[8];
	char outputs[8][128];
};

static void collect(void *arg, const struct matcalc_result *r)
{
	struct collected *c = arg;
	ck_assert_int_lt(c->n, 8);
	c->statuses[c->n] = matcalc_result_status(r);
	snprintf(c->outputs[c->n], sizeof c->outputs[c->n], "%s", matcalc_result_output(r));
	c->n++;
}

/* check and gradcheck give verdicts; a failed check is status 1 (exit status 1). */
START_TEST(test_run_verdicts)
{
	struct matcalc *m = open_session();
	struct collected c = {0};
	const char *text = "let A, B : matrix(n, n)\ncheck(tr(A B) = tr(B A))\ncheck(A B = B A)\n";
	ck_assert_int_eq(matcalc_run(m, "-e", text, strlen(text), collect, &c), MATCALC_FAILED);
	ck_assert_int_eq(c.n, 3);
	ck_assert_int_eq(c.statuses[1], MATCALC_OK);
	ck_assert_int_eq(c.statuses[2], MATCALC_FAILED);
	ck_assert_ptr_nonnull(strstr(c.outputs[2], "not equal"));

	ck_assert_int_eq(matcalc_start(m, "-e", "check(tr(A B) = tr(B A))", 24, 0), MATCALC_OK);
	ck_assert_int_eq(matcalc_result_verdict(matcalc_next(m)), 1);
	char *report = NULL;
	ck_assert_int_eq(matcalc_check(m, "A B = B A", &report), MATCALC_FAILED);
	ck_assert_ptr_nonnull(strstr(report, "not equal"));
	matcalc_free(report);
	ck_assert_int_eq(matcalc_check(m, "tr(A^T) = tr(A)", NULL), MATCALC_OK);
	/* an error's column is the equation's, not the wrapped statement's */
	ck_assert_int_eq(matcalc_check(m, "A = tarce(B)", NULL), MATCALC_ERROR);
	ck_assert_int_eq(matcalc_errline(m), 1);
	ck_assert_int_eq(matcalc_errcol(m), 5);
	ck_assert_str_eq(matcalc_errmsg(m), "unknown function 'tarce' (did you mean 'tr'?)");
	matcalc_close(m);
}
END_TEST

START_TEST(test_options)
{
	struct matcalc *m = open_session();
	ck_assert_int_eq(matcalc_option_arity("--latex"), 0);
	ck_assert_int_eq(matcalc_option_arity("--precision"), 1);
	ck_assert_int_eq(matcalc_option_arity("--precision=3"), 1);
	ck_assert_int_eq(matcalc_option_arity("--emit=numpy"), 0);
	ck_assert_int_eq(matcalc_option_arity("--frobnicate"), -1);
	ck_assert_int_eq(matcalc_set_option(m, "--frobnicate", NULL), MATCALC_MISUSE);
	ck_assert_str_eq(matcalc_errmsg(m), "unknown option '--frobnicate'");
	ck_assert_int_eq(matcalc_set_option(m, "--precision", "99"), MATCALC_MISUSE);
	ck_assert_str_eq(matcalc_errmsg(m), "--precision takes 1 to 17 digits");
	ck_assert_int_eq(matcalc_set_option(m, "--precision=3", NULL), MATCALC_OK);
	ck_assert_str_eq(matcalc_get_option(m, "--precision"), "3");
	ck_assert_str_eq(matcalc_get_option(m, "--latex"), "off");
	ck_assert_int_eq(matcalc_set_option(m, "--latex", NULL), MATCALC_OK);
	ck_assert_str_eq(matcalc_get_option(m, "--latex"), "on");
	ck_assert_ptr_null(matcalc_get_option(m, "--nope"));

	/* the options change what the statements print */
	struct collected c = {0};
	const char *text = "let X : matrix(n, m)\ngrad(tr(X^T X), X)\nx = 1/3\neval(x)";
	ck_assert_int_eq(matcalc_run(m, "-e", text, strlen(text), collect, &c), MATCALC_OK);
	ck_assert_str_eq(c.outputs[1], "2 \\mathbf{X}\n");
	ck_assert_str_eq(c.outputs[3], "0.333\n");
	ck_assert_int_eq(matcalc_set_option(m, "--latex", "off"), MATCALC_OK);
	ck_assert_int_eq(matcalc_set_option(m, "--latex", "maybe"), MATCALC_MISUSE);

	char *help = matcalc_options_help();
	ck_assert_ptr_nonnull(strstr(help, "  --precision N    significant digits"));
	matcalc_free(help);
	matcalc_close(m);
}
END_TEST

/* derive in every form, and emit */
START_TEST(test_derive_forms)
{
	struct matcalc *m = open_session();
	struct collected c = {0};
	const char *decl = "let y : vector(n)\nlet X : matrix(n, m)\nlet θ : vector(m)";
	ck_assert_int_eq(matcalc_run(m, "decl", decl, strlen(decl), collect, &c), MATCALC_OK);
	char *out = NULL;
	ck_assert_int_eq(matcalc_derive(m, "grad(||y - X θ||^2, θ)", MATCALC_PLAIN, &out),
			 MATCALC_OK);
	ck_assert_str_eq(out, "2 X^T X θ - 2 X^T y");
	matcalc_free(out);
	ck_assert_int_eq(matcalc_derive(m, "grad(||y - X θ||^2, θ)", MATCALC_LATEX, &out),
			 MATCALC_OK);
	ck_assert_ptr_nonnull(strstr(out, "\\mathbf{X}^\\top"));
	matcalc_free(out);
	ck_assert_int_eq(matcalc_derive(m, "grad(||y - X θ||^2, θ)", MATCALC_NUMPY, &out),
			 MATCALC_OK);
	ck_assert_ptr_nonnull(strstr(out, "import numpy as np"));
	ck_assert_ptr_nonnull(strstr(out, "def fun("));
	matcalc_free(out);
	ck_assert_int_eq(matcalc_emit(m, "grad(||y - X θ||^2, θ)", MATCALC_C, &out), MATCALC_OK);
	ck_assert_ptr_nonnull(strstr(out, "#include <cblas.h>"));
	matcalc_free(out);
	ck_assert_int_eq(matcalc_emit(m, "grad(||y - X θ||^2, θ)", MATCALC_LATEX, &out),
			 MATCALC_MISUSE);
	/* a non-scalar grad: the error's column in the text given */
	ck_assert_int_eq(matcalc_derive(m, "grad(X θ, θ)", MATCALC_PLAIN, &out), MATCALC_ERROR);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(matcalc_errline(m), 1);
	ck_assert_int_eq(matcalc_errcol(m), 6);
	ck_assert_ptr_nonnull(strstr(matcalc_errmsg(m), "grad needs a scalar function"));
	ck_assert_int_eq(matcalc_derive(m, "let a : scalar", MATCALC_PLAIN, &out), MATCALC_ERROR);
	matcalc_close(m);
}
END_TEST

/* eval into a column-major array */
START_TEST(test_eval_array)
{
	struct matcalc *m = open_session();
	const char *text = "A = [1 2; 3 4]\nx = [1; -1]";
	ck_assert_int_eq(matcalc_run(m, "-e", text, strlen(text), NULL, NULL), MATCALC_OK);
	double *v = NULL;
	long rows = 0, cols = 0;
	ck_assert_int_eq(matcalc_eval(m, "A^T", &v, &rows, &cols), MATCALC_OK);
	ck_assert_int_eq(rows, 2);
	ck_assert_int_eq(cols, 2);
	/* A^T = [1 3; 2 4], column-major: 1 2 3 4 */
	const double want[] = {1, 2, 3, 4};
	for (int i = 0; i < 4; i++)
		ck_assert_double_eq_tol(v[i], want[i], 1e-12);
	matcalc_free(v);
	ck_assert_int_eq(matcalc_eval(m, "grad(x^T A x, x)", &v, &rows, &cols), MATCALC_OK);
	ck_assert_int_eq(rows, 2);
	ck_assert_int_eq(cols, 1);
	/* (A + A^T) x = [2 5; 5 8] [1; -1] = [-3; -3] */
	ck_assert_double_eq_tol(v[0], -3, 1e-12);
	ck_assert_double_eq_tol(v[1], -3, 1e-12);
	matcalc_free(v);
	ck_assert_int_eq(matcalc_eval(m, "inv([1 2; 2 4])", &v, &rows, &cols), MATCALC_ERROR);
	ck_assert_ptr_null(v);
	ck_assert_str_ne(matcalc_errmsg(m), "");
	matcalc_close(m);
}
END_TEST

static void count_name(void *arg, const char *name)
{
	int *found = arg;
	if (strcmp(name, "theta") == 0 || strcmp(name, "θ") == 0 || strcmp(name, "tr") == 0)
		(*found)++;
}

START_TEST(test_introspection)
{
	struct matcalc *m = open_session();
	char *names = matcalc_describe_names(m);
	ck_assert_str_eq(names, "no names yet: declare one with let X : matrix(n, m)\n");
	matcalc_free(names);
	const char *text = "let θ : vector(n)\nf = θ^T θ";
	ck_assert_int_eq(matcalc_run(m, "-e", text, strlen(text), NULL, NULL), MATCALC_OK);
	names = matcalc_describe_names(m);
	ck_assert_str_eq(names, "θ : vector(n)\nf = θ^T θ\n");
	matcalc_free(names);
	int found = 0;
	matcalc_names(m, count_name, &found);
	ck_assert_int_eq(found, 3);
	char *rules = NULL;
	ck_assert_int_eq(matcalc_list_rules(m, "MC (37)", &rules), MATCALC_OK);
	ck_assert_ptr_nonnull(strstr(rules, "[differential] d(A B) -> d(A) B + A d(B) @ MC (37)"));
	matcalc_free(rules);
	matcalc_close(m);
}
END_TEST

static void on_alarm(int sig)
{
	(void)sig;
	matcalc_interrupt();
}

/* matcalc_interrupt from a signal handler stops the running statement (here a
 * chain of large products that takes seconds) and keeps the session; a call
 * while nothing runs is forgotten. */
START_TEST(test_interrupt)
{
	struct matcalc *m = open_session();
	const char *vals = "A = randn(1200, 1200); B = randn(1200, 1200)";
	ck_assert_int_eq(matcalc_run(m, "-e", vals, strlen(vals), NULL, NULL), MATCALC_OK);
	matcalc_interrupt(); /* nothing runs: forgotten */
	ck_assert_int_eq(matcalc_run(m, "-e", "tr(A) - tr(A)", 13, NULL, NULL), MATCALC_OK);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {.it_value = {.tv_usec = 200000}};
	setitimer(ITIMER_REAL, &it, NULL);
	const char *slow = "sum(A B A^T B^T A B^T A^T B A B A^T B^T A B A^T B^T A B^T A^T B A B A^T B^T "
			   "A B A^T B^T A B^T A^T B A B A^T B^T A B A^T B^T A B^T A^T B A B A^T B^T)";
	ck_assert_int_eq(matcalc_start(m, "-e", slow, strlen(slow), 0), MATCALC_OK);
	const struct matcalc_result *r = matcalc_next(m);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(matcalc_result_status(r), MATCALC_ERROR);
	ck_assert_msg(strstr(matcalc_result_errmsg(r), "interrupted"), "errmsg: %s",
		      matcalc_result_errmsg(r));
	signal(SIGALRM, SIG_DFL);
	/* the session goes on with its values */
	ck_assert_int_eq(matcalc_run(m, "-e", "eval(sum(A - A))", 16, NULL, NULL), MATCALC_OK);
	matcalc_close(m);
}
END_TEST

START_TEST(test_broken_rules)
{
	struct matcalc *m = open_session();
	ck_assert_int_eq(matcalc_set_option(m, "--rules", "/nonexistent"), MATCALC_OK);
	ck_assert_int_eq(matcalc_load_rules(m), MATCALC_ERROR);
	ck_assert_ptr_nonnull(strstr(matcalc_errmsg(m), "/nonexistent"));
	/* a statement needing them reports it as its error */
	ck_assert_int_eq(matcalc_run(m, "-e", "grad(tr(A), A)", 14, NULL, NULL), MATCALC_ERROR);
	matcalc_close(m);
	matcalc_close(NULL);
	matcalc_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("api");
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_next_results);
	tcase_add_test(tc, test_error_line_col);
	tcase_add_test(tc, test_syntax_error);
	tcase_add_test(tc, test_run_verdicts);
	tcase_add_test(tc, test_options);
	tcase_add_test(tc, test_derive_forms);
	tcase_add_test(tc, test_eval_array);
	tcase_add_test(tc, test_introspection);
	tcase_add_test(tc, test_broken_rules);
	tcase_add_test(tc, test_interrupt);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
