/* test_verify.c - check(e1 = e2), check(grad(f, X) = G) and gradcheck: verdicts,
 * what a mismatch prints, exit status, and the user's bindings left alone. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "value.h"

struct vcase {
	const char *input;
	bool equal;
};

/* Identities (canonical or numeric) and claims that are false. */
static const struct vcase verdicts[] = {
    {"check(tr(A B) = tr(B A))", true},
    {"check((A B)^T = B^T A^T)", true},
    {"check((A B)^T = A^T B^T)", false},
    {"let A, B : matrix(n, n); check(det(A B) = det(A) det(B))", true},
    {"let A, B : matrix(n, n); check(det(A B) = det(A) + det(B))", false},
    {"let A, B : matrix(n, n); check(inv(A B) = inv(B) inv(A))", true},
    {"let A, B : matrix(n, n); check(inv(A B) = inv(A) inv(B))", false},
    /* a claim that needs more than the problem allows is not equal */
    {"check(det(A B) = det(A) det(B))", false},
    {"check(inv(A B) = inv(B) inv(A))", false},
    {"check(X = y)", false},
    {"check(vec(A B C) = kron(C^T, A) vec(B))", true},
    {"check(vec(A B C) = kron(C, A) vec(B))", false},
    {"check(log(det(A)) = logdet(A))", true},
    {"check(A B - B A = 0)", false},
    {"check(I A = A)", true},
    {"check(A + I = I + A)", true},
    {"check(x^T y = y^T x)", true},
    {"check(||x||^2 = x^T x)", true},
    {"check(||X||_F^2 = tr(X^T X))", true},
    {"check(sum(x ⊙ y) = x^T y)", true},
    {"check(sum(x ⊙ y) = sum(x) sum(y))", false},
    {"check(exp(log(x ⊙ x)) = x ⊙ x)", true},
    {"check(sigmoid(x) = 1 ./ (1 + exp(-x)))", true},
    {"check(softplus(x) = log(1 + exp(x)))", true},
    {"check(tr(A^-1 B) = tr(B A^-1))", true},
    {"check(d(tr(X)) = tr(dX))", true},
    {"check(d(tr(X^T X)) = 2 tr(X^T dX))", true},
    {"check(d(tr(X^T X)) = tr(X^T dX))", false},
    /* symmetric and spd symbols are drawn as such */
    {"let S : symmetric matrix(n, n); check(x^T S y = y^T S x)", true},
    {"let S : matrix(n, n); check(x^T S y = y^T S x)", false},
    {"let S : spd matrix(n, n); check(abs(x^T S x) = x^T S x)", true},
    {"let S : symmetric matrix(n, n); check(abs(x^T S x) = x^T S x)", false},
    /* a user-fixed size is kept, free sizes drawn */
    {"let P : matrix(n, 3); check(P^T P = (P^T P)^T)", true},
    /* gradients: right, and wrong by a transpose, a factor 2, a sign */
    {"check(grad(tr(Θ^T X X^T Θ), Θ) = 2 X X^T Θ)", true},
    {"check(grad(tr(Θ^T X X^T Θ), Θ) = X X^T Θ)", false},
    {"check(grad(tr(A X), X) = A^T)", true},
    {"check(grad(tr(A X), X) = A)", false},
    {"check(grad(||y - X θ||^2, θ) = 2 X^T (X θ - y))", true},
    {"check(grad(||y - X θ||^2, θ) = 2 X^T (y - X θ))", false},
    {"check(grad(x^T A x, x) = (A + A^T) x)", true},
    {"check(grad(x^T A x, x) = 2 A x)", false},
    {"check(grad(logdet(X), X) = X^-T)", true},
    {"check(grad(logdet(X), X) = X^-1)", false},
    {"check(2 X^T (X θ - y) = grad(||y - X θ||^2, θ))", true},
    {"check(X^T (X θ - y) = grad(||y - X θ||^2, θ))", false},
    {"let S : spd matrix(n, n); check(grad(logdet(S), S) = S^-1)", true},
    {"check(grad(sum(exp(X)), X) = exp(X))", true},
    {"check(grad(sum(diag(X)), X) = I)", true},
    {"check(grad(sum(diag(X)), X) = 2 I)", false},
};

START_TEST(test_verdicts)
{
	const struct vcase *c = &verdicts[_i];
	struct tsession t;
	ts_open(&t);
	ck_assert_msg(ts_run(&t, c->input), "%s: %s", c->input, t.err);
	const char *want = c->equal ? "equal\n" : "not equal\n";
	ck_assert_msg(strncmp(t.out, want, strlen(want)) == 0, "%s: %s", c->input, t.out);
	ck_assert_int_eq(t.s->status, c->equal ? 0 : 1);
	ts_close(&t);
}
END_TEST

/* What not equal prints: the instance (as statements that bind it), both
 * values, the correct gradient. */
START_TEST(test_mismatch_report)
{
	struct tsession t;
	ts_open(&t);
	t.s->mc->precision = 17; /* so the printed instance is the instance */
	/* a wrong claim no diagnosis fits */
	ck_assert(ts_run(&t, "check(grad(tr(Θ^T X X^T Θ), Θ) = X X^T Θ Θ^T Θ)"));
	char *line[8] = {0};
	int n = 0;
	for (char *p = strtok(t.out, "\n"); p && n < 8; p = strtok(NULL, "\n"))
		line[n++] = p;
	ck_assert_int_eq(n, 5);
	ck_assert_str_eq(line[0], "not equal");
	ck_assert(strncmp(line[1], "instance: Θ = [", 15) == 0);
	ck_assert(strstr(line[1], "; X = [") != NULL);
	ck_assert(strncmp(line[2], "left:  [", 8) == 0);
	ck_assert(strncmp(line[3], "right: [", 8) == 0);
	ck_assert_str_eq(line[4], "correct gradient: 2 X X^T Θ");
	/* the instance parses back and gives the same two values */
	struct tsession u;
	ts_open(&u);
	u.s->mc->precision = 17;
	char text[2048];
	snprintf(text, sizeof text, "%s; X X^T Θ Θ^T Θ; 2 X X^T Θ", line[1] + 10);
	ck_assert_msg(ts_run(&u, text), "%s", u.err);
	char want[2048];
	snprintf(want, sizeof want, "%s\n%s\n", line[3] + 7, line[2] + 7);
	ck_assert_str_eq(u.out, want);
	ts_close(&u);
	ts_close(&t);
}
END_TEST

/* The first instance is small: every free size 2. */
START_TEST(test_small_instance)
{
	struct tsession t;
	ts_open(&t);
	ck_assert(ts_run(&t, "let A, B : matrix(n, n); check((A B)^T = A^T B^T)"));
	ck_assert_msg(strstr(t.out, "instance: A = [") != NULL, "%s", t.out);
	const char *a = strstr(t.out, "A = [");
	/* [a b; c d]: two rows of two */
	int semis = 0, spaces = 0;
	for (const char *p = a + 5; *p && *p != ']'; p++) {
		semis += *p == ';';
		spaces += *p == ' ';
	}
	ck_assert_int_eq(semis, 1);
	ck_assert_int_eq(spaces, 3);
	ts_close(&t);
}
END_TEST

/* check keeps the user's values exactly and never fixes a free size. */
START_TEST(test_bindings_restored)
{
	struct tsession t;
	ts_open(&t);
	ck_assert(ts_run(&t, "X = [1 2; 3 4]; Y = [5 6; 7 8]"));
	const struct value *before = value_of(t.s, session_decl(t.s, "X"));
	ck_assert(ts_run(&t, "check((A X)^T = A^T X^T); check(tr(X Y) = tr(Y X)); "
			     "check(grad(tr(X B), X) = B); check(det(C^T C) = det(C C^T))"));
	ck_assert_int_eq(t.s->nbinds, 2);
	ck_assert_ptr_eq(value_of(t.s, session_decl(t.s, "X")), before);
	size_t off = strlen(t.out);
	ck_assert(ts_run(&t, "X; Y"));
	ck_assert_str_eq(t.out + off, "[1 2; 3 4]\n[5 6; 7 8]\n");
	/* C's sizes were drawn for the instances, not fixed: it still takes any value */
	ck_assert_msg(ts_run(&t, "C = randn(5, 2)"), "%s", t.err);
	ts_close(&t);
}
END_TEST

START_TEST(test_status)
{
	struct tsession t;
	ts_open(&t);
	ck_assert(ts_run(&t, "check(tr(A B) = tr(B A))"));
	ck_assert_int_eq(t.s->status, 0);
	ck_assert(ts_run(&t, "check(A B = B A)"));
	ck_assert_int_eq(t.s->status, 1);
	ck_assert(ts_run(&t, "check(tr(A B) = tr(B A))"));
	ck_assert_int_eq(t.s->status, 1); /* a failure stays */
	ck_assert(!ts_run(&t, "check(x)"));
	ck_assert_int_eq(t.s->status, 2);
	ck_assert(ts_run(&t, "check(A B = B A)"));
	ck_assert_int_eq(t.s->status, 2); /* an error outranks a failed check */
	ts_close(&t);
}
END_TEST

struct ecase {
	const char *input, *want;
};

static const struct ecase errors[] = {
    {"check(x)", "check takes an equation: check(a = b) or check(grad(f, X) = G)"},
    {"check(x = y, z)", "check takes an equation: check(a = b) or check(grad(f, X) = G)"},
    {"gradcheck(x)", "gradcheck takes a function and a variable: gradcheck(f, X)"},
    {"gradcheck(x, x)", "gradcheck needs a scalar function, but this is n_x×1"},
    {"f = x^T x; gradcheck(f, f)",
     "cannot differentiate with respect to f: it is defined as an expression; use a symbol"},
    {"gradcheck(sum(x), 2 x)", "gradcheck needs a symbol to differentiate with respect to"},
    {"check(log(-exp(x)) = x)",
     "cannot evaluate the two sides at a random instance: log of a non-positive value: "
     "-exp(x) has the entry "},
};

START_TEST(test_errors)
{
	bool ok;
	char *err = ts_eval(errors[_i].input, &ok);
	ck_assert_msg(!ok, "%s: %s", errors[_i].input, err);
	char *msg = strstr(err, "error: ");
	ck_assert_msg(msg && strncmp(msg + 7, errors[_i].want, strlen(errors[_i].want)) == 0,
		      "%s: %s", errors[_i].input, err);
	free(err);
}
END_TEST

static const char *const gradchecks[] = {
    "gradcheck(tr(Θ^T X X^T Θ), Θ)",
    "gradcheck(||Y^T - X^T Θ||_F^2, Θ)",
    "gradcheck(||y - X θ||^2, θ)",
    "gradcheck(||y - X θ||^2 + λ θ^T θ, θ)",
    "gradcheck(logdet(X), X)",
    "gradcheck(det(X), X)",
    "gradcheck(tr(X^-1), X)",
    "gradcheck(tr(X^3), X)",
    "gradcheck(x^T A x, x)",
    "gradcheck(sum(log(x)), x)",
    "gradcheck(sum(sqrt(x)), x)",
    "gradcheck(sum(exp(X)), X)",
    "gradcheck(sum(tan(x)), x)",
    "gradcheck(sum(sigmoid(X θ)), θ)",
    "gradcheck(sum(softplus(X θ)), θ)",
    "gradcheck(||X||_F, X)",
    "gradcheck(sum(log(1 + exp(-y ⊙ (X θ)))), θ)",
    "let S : spd matrix(n, n); gradcheck(logdet(S), S)",
    "let S : spd matrix(n, n); gradcheck(x^T S^-1 x, x)",
    "let S : symmetric matrix(n, n); gradcheck(tr(S A S), S)",
};

START_TEST(test_gradcheck)
{
	struct tsession t;
	ts_open(&t);
	t.s->mc->exact_errors = true; /* the figure, as --precision shows it */
	ck_assert_msg(ts_run(&t, gradchecks[_i]), "%s: %s", gradchecks[_i], t.err);
	double err = -1;
	char verdict[16] = "";
	ck_assert_msg(sscanf(t.out, "max relative error %lf: %15s", &err, verdict) == 2, "%s: %s",
		      gradchecks[_i], t.out);
	ck_assert_msg(err >= 0 && err <= 1e-6 && strcmp(verdict, "ok") == 0, "%s: %s",
		      gradchecks[_i], t.out);
	ck_assert_int_eq(t.s->status, 0);
	ts_close(&t);
}
END_TEST

/* A rules directory like the real one with d(sin) made wrong: gradcheck must
 * catch the engine, and check must say so. Returns the directory (owned). */
static char *broken_rules(void)
{
	char tmpl[] = "/tmp/matcalc-rules-XXXXXX";
	char *dir = mkdtemp(tmpl);
	ck_assert(dir != NULL);
	const char *src = MATCALC_SOURCE_ROOT "/rules";
	DIR *d = opendir(src);
	ck_assert(d != NULL);
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 6, ".rules") != 0)
			continue;
		char path[1024], out[1024], line[4096];
		snprintf(path, sizeof path, "%s/%s", src, de->d_name);
		snprintf(out, sizeof out, "%s/%s", dir, de->d_name);
		FILE *in = fopen(path, "r"), *o = fopen(out, "w");
		ck_assert(in && o);
		while (fgets(line, sizeof line, in)) {
			if (strncmp(line, "d(sin(A)) -> cos(A)", 19) == 0)
				fputs("d(sin(A)) -> sin(A) ⊙ d(A) @ wrong on purpose\n", o);
			else
				fputs(line, o);
		}
		fclose(in);
		fclose(o);
	}
	closedir(d);
	return strdup(dir);
}

static void remove_dir(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
}

START_TEST(test_wrong_engine)
{
	char *dir = broken_rules();
	struct tsession t;
	ts_open(&t);
	t.s->rules_dir = dir;
	ck_assert_msg(ts_run(&t, "grad(sum(sin(x)), x)"), "%s", t.err);
	ck_assert_str_eq(t.out, "sin(x)\n");
	size_t off = strlen(t.out);
	ck_assert(ts_run(&t, "gradcheck(sum(sin(x)), x)"));
	ck_assert_msg(strstr(t.out + off, ": FAILED\n") != NULL, "%s", t.out + off);
	ck_assert_int_eq(t.s->status, 1);
	/* the right answer agrees with finite differences: not equal to the
	 * engine's, and the report says the engine is the one at fault */
	off = strlen(t.out);
	t.s->status = 0;
	ck_assert(ts_run(&t, "check(grad(sum(sin(x)), x) = cos(x))"));
	ck_assert_msg(strncmp(t.out + off, "not equal\n", 10) == 0, "%s", t.out + off);
	ck_assert_msg(
	    strstr(t.out + off, "note: the engine's gradient disagrees with finite differences") !=
		NULL,
	    "%s", t.out + off);
	ck_assert_int_eq(t.s->status, 1);
	ts_close(&t);
	remove_dir(dir);
}
END_TEST

/* Reproducible: the same seed, the same report. */
START_TEST(test_reproducible)
{
	struct tsession a, b;
	ts_open(&a);
	ts_open(&b);
	ck_assert(ts_run(&a, "check((A B)^T = A^T B^T)"));
	ck_assert(ts_run(&b, "check((A B)^T = A^T B^T)"));
	ck_assert_str_eq(a.out, b.out);
	ts_close(&a);
	ts_close(&b);
}
END_TEST

static Suite *verify_suite(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("check");
	tcase_add_loop_test(tc, test_verdicts, 0, (int)(sizeof verdicts / sizeof *verdicts));
	tcase_add_test(tc, test_mismatch_report);
	tcase_add_test(tc, test_small_instance);
	tcase_add_test(tc, test_bindings_restored);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_reproducible);
	tcase_add_loop_test(tc, test_errors, 0, (int)(sizeof errors / sizeof *errors));
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	TCase *tg = tcase_create("gradcheck");
	tcase_add_loop_test(tg, test_gradcheck, 0, (int)(sizeof gradchecks / sizeof *gradchecks));
	tcase_add_test(tg, test_wrong_engine);
	tcase_set_timeout(tg, 120);
	suite_add_tcase(s, tg);
	return s;
}

int main(void)
{
	return ts_run_suite(verify_suite());
}
