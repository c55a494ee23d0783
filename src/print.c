/* print.c - the plain and LaTeX printers: minimal parentheses, juxtaposed products. */
#include "print.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greek.h"

/* Precedence levels, loosest first. */
enum prec { P_EQ, P_SUM, P_PROD, P_UNARY, P_POSTFIX, P_ATOM };

struct printer {
	struct mc *mc;
	struct sbuf *b;
	bool latex;
	int in_norm; /* plain norms open around the node being printed */
	bool pretty; /* Unicode operators: Xᵀ, X⁻¹, ‖x‖², −, ⊘ */
};

/* The form of an operator in the printer's style. */
static const char *form(const struct printer *p, const char *plain, const char *pretty,
			const char *latex)
{
	return p->latex ? latex : p->pretty ? pretty : plain;
}

static void pr(struct printer *p, const struct expr *e, enum prec ctx);

void print_number(struct mc *mc, char *buf, size_t n, double v)
{
	if (v == floor(v) && fabs(v) < 1e15 && n >= 24) {
		/* what "%.0f" prints, without printf's cost (every coefficient goes
		 * through here); -0.0 is not below 0, so it prints as 0 */
		char d[24];
		int k = 0;
		unsigned long long u = (unsigned long long)fabs(v);
		do
			d[k++] = (char)('0' + u % 10);
		while (u /= 10);
		size_t j = 0;
		if (v < 0)
			buf[j++] = '-';
		while (k)
			buf[j++] = d[--k];
		buf[j] = '\0';
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, n, "%.0f", v);
	} else {
		/* a sum of a thousand \frac{1}{2} terms prints 0.5 a thousand times:
		 * the last number printed is kept (one per thread, as printf would
		 * print it again) */
		static _Thread_local double last_v;
		static _Thread_local int last_prec = -1;
		static _Thread_local char last[64];
		if (last_prec == mc->precision && memcmp(&last_v, &v, sizeof v) == 0 &&
		    strlen(last) < n) {
			memcpy(buf, last, strlen(last) + 1);
			return;
		}
		snprintf(buf, n, "%.*g", mc->precision, v);
		if (strlen(buf) < sizeof last && strlen(buf) + 1 < n) {
			memcpy(&last_v, &v, sizeof v);
			last_prec = mc->precision;
			memcpy(last, buf, strlen(buf) + 1);
		}
	}
	if (strcmp(buf, "-0") == 0)
		snprintf(buf, n, "0");
}

static void number(struct printer *p, double v)
{
	char buf[64];
	print_number(p->mc, buf, sizeof buf, v);
	char *e = strchr(buf, 'e');
	if (p->latex && e) {
		*e = '\0';
		int ex = atoi(e + 1);
		sbuf_printf(p->b, "%s \\cdot 10^{%d}", buf, ex);
		return;
	}
	if (p->pretty && buf[0] == '-') {
		sbuf_add(p->b, "−");
		sbuf_add(p->b, buf + 1);
		return;
	}
	sbuf_add(p->b, buf);
}

void print_name(struct mc *mc, struct sbuf *b, const char *name)
{
	if (!mc->ascii) {
		sbuf_add(b, name);
		return;
	}
	for (const char *s = name; *s;) {
		/* only a non-ASCII byte can start a Greek letter: long names stay linear */
		const char *a = (unsigned char)*s >= 0x80 ? greek_ascii(s) : NULL;
		if (a) {
			sbuf_add(b, a);
			s += 2; /* Greek letters are two bytes in UTF-8 */
		} else {
			sbuf_addn(b, s, 1);
			s++;
		}
	}
}

/* The letters of a name in LaTeX: a Greek letter anywhere becomes its command
 * (aλ is a\lambda), since LaTeX without unicode-math rejects Unicode in math;
 * '_' inside a subscript is escaped. */
static void latex_letters(struct printer *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		const char *g = (unsigned char)s[i] >= 0x80 ? greek_ascii(s + i) : NULL;
		if (g && i + 2 <= n) {
			sbuf_printf(p->b, "\\%s", g);
			i += 2; /* Greek letters are two bytes in UTF-8 */
			/* \theta a would read as \thetaa without the space */
			if (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
				sbuf_add(p->b, " ");
		} else if (s[i] == '_') {
			sbuf_add(p->b, "\\_");
			i++;
		} else {
			sbuf_addn(p->b, s + i, 1);
			i++;
		}
	}
}

/* LaTeX of a name: the head letter styled by kind, the rest a subscript. */
static void latex_name(struct printer *p, const char *name, int kind)
{
	const char *s = name;
	size_t headlen;
	const char *g = greek_ascii(s);
	bool greek = g && (unsigned char)*s >= 0x80;
	/* the head: letters (a Greek letter is one), then digits (W2 is one name,
	 * not W_2); what follows '_' is the subscript */
	headlen = 0;
	int letters = 0;
	while (s[headlen] && s[headlen] != '_' && !(s[headlen] >= '0' && s[headlen] <= '9')) {
		headlen += (unsigned char)s[headlen] >= 0x80 && greek_ascii(s + headlen) ? 2 : 1;
		letters++;
	}
	while (s[headlen] >= '0' && s[headlen] <= '9')
		headlen++;
	/* LaTeX letters written together are separate symbols (SPEC §2): a name of
	 * several letters is \mathit{rate}, or \boldsymbol{\mathrm{x\theta}} */
	bool multi = letters > 1;
	if (kind == KIND_SCALAR)
		sbuf_add(p->b, multi ? "\\mathit{" : "");
	else if (multi)
		sbuf_add(p->b, "\\boldsymbol{\\mathrm{");
	else
		sbuf_add(p->b, greek ? "\\boldsymbol{" : "\\mathbf{");
	latex_letters(p, s, headlen);
	if (kind != KIND_SCALAR && multi)
		sbuf_add(p->b, "}}");
	else if (kind != KIND_SCALAR || multi)
		sbuf_add(p->b, "}");
	const char *rest = s + headlen;
	if (*rest == '_')
		rest++;
	if (*rest) {
		sbuf_add(p->b, "_{");
		latex_letters(p, rest, strlen(rest));
		sbuf_add(p->b, "}");
	}
}

static void open_paren(struct printer *p) { sbuf_add(p->b, p->latex ? "\\left(" : "("); }

static void close_paren(struct printer *p) { sbuf_add(p->b, p->latex ? "\\right)" : ")"); }

static void wrapped(struct printer *p, const struct expr *e, enum prec ctx, enum prec own)
{
	if (own < ctx) {
		open_paren(p);
		pr(p, e, P_EQ);
		close_paren(p);
	} else {
		pr(p, e, ctx);
	}
}

static enum prec prec_of(const struct expr *e)
{
	switch (e->op) {
	case OP_EQ:
		return P_EQ;
	case OP_ADD:
		return P_SUM;
	case OP_MUL:
		return e->kids[0]->op == OP_NUM && e->kids[0]->num < 0 ? P_UNARY : P_PROD;
	case OP_HAD:
	case OP_EDIV:
	case OP_KRON:
		return P_PROD;
	case OP_NUM:
		return e->num < 0 ? P_UNARY : P_ATOM;
	case OP_T:
	case OP_INV:
	case OP_POW:
		return P_POSTFIX;
	case OP_DIFF:
		return P_ATOM;
	default:
		return P_ATOM;
	}
}

/* A term c ones(r, c) or c s ones(r, c) with s a scalar: a scalar added to
 * every entry (SPEC §2), which the sum prints as the scalar alone. */
static bool is_ones_term(struct mc *mc, const struct expr *t, double *coef, const struct expr **s)
{
	if (t->op == OP_ONES) {
		*coef = 1;
		*s = NULL;
		return true;
	}
	if (t->op == OP_MUL && t->kids[t->nkids - 1]->op == OP_ONES) {
		*coef = 1;
		*s = NULL;
		int k = 0;
		if (t->kids[0]->op == OP_NUM) {
			*coef = t->kids[0]->num;
			k = 1;
		}
		if (t->nkids - 1 - k == 1)
			*s = t->kids[k];
		else if (t->nkids - 1 - k > 1)
			return false;
		/* (A + B) ones(n, m) is a matrix product, not a broadcast scalar; and
		 * x + (α + β) would read back as x + α + β */
		return !*s || (expr_is_scalar(mc, *s) && (*s)->op != OP_ADD);
	}
	return false;
}

/* One factor of a juxtaposed product: a grouped 1x1 run (y^T x) prints bare;
 * other products, sums and infix products need parentheses. */
static void pr_factor(struct printer *p, const struct expr *f)
{
	enum prec fp = prec_of(f);
	if (fp < P_POSTFIX && !(f->op == OP_MUL && fp == P_PROD)) {
		open_paren(p);
		pr(p, f, P_EQ);
		close_paren(p);
	} else {
		pr(p, f, P_PROD);
	}
}

static void pr_sum(struct printer *p, const struct expr *e)
{
	/* the shorthand needs a term that gives the sum its shape: a sum of
	 * broadcast scalars alone would read back as a scalar */
	bool shaped = false;
	for (int i = 0; i < e->nkids && !shaped; i++) {
		double c;
		const struct expr *s;
		if (!is_ones_term(p->mc, e->kids[i], &c, &s))
			shaped = true;
	}
	for (int i = 0; i < e->nkids; i++) {
		const struct expr *t = e->kids[i];
		double c;
		const struct expr *s;
		bool neg = false;
		if (shaped && is_ones_term(p->mc, t, &c, &s)) {
			/* a scalar broadcast over the sum's entries prints as the scalar */
			neg = c < 0;
			if (i > 0)
				sbuf_add(p->b, neg ? form(p, " - ", " − ", " - ") : " + ");
			else if (neg)
				sbuf_add(p->b, form(p, "-", "−", "-"));
			double ac = fabs(c);
			if (s && ac != 1) {
				number(p, ac);
				sbuf_add(p->b, " ");
				pr_factor(p, s);
			} else if (s && i == 0 && neg) {
				/* a leading unary minus binds to the first operand of s */
				pr_factor(p, s);
			} else if (s) {
				wrapped(p, s, P_PROD, prec_of(s));
			} else {
				number(p, ac);
			}
			continue;
		}
		if (t->op == OP_MUL && t->kids[0]->op == OP_NUM && t->kids[0]->num < 0)
			neg = true;
		if (t->op == OP_NUM && t->num < 0)
			neg = true;
		if (i == 0) {
			pr(p, t, P_SUM);
			continue;
		}
		sbuf_add(p->b, neg ? form(p, " - ", " − ", " - ") : " + ");
		if (!neg) {
			pr(p, t, P_SUM);
		} else if (t->op == OP_NUM) {
			number(p, -t->num);
		} else {
			/* the product with its coefficient negated */
			double c2 = -t->kids[0]->num;
			if (c2 == 1 && t->nkids == 2) {
				pr(p, t->kids[1], P_PROD);
				continue;
			}
			if (c2 != 1) {
				number(p, c2);
				sbuf_add(p->b, " ");
			}
			for (int k = 1; k < t->nkids; k++) {
				if (k > 1)
					sbuf_add(p->b, " ");
				pr_factor(p, t->kids[k]);
			}
		}
	}
}

static void pr_mul(struct printer *p, const struct expr *e)
{
	int k = 0;
	if (e->kids[0]->op == OP_NUM) {
		double c = e->kids[0]->num;
		if (c == -1)
			sbuf_add(p->b, form(p, "-", "−", "-"));
		else {
			number(p, c);
			sbuf_add(p->b, " ");
		}
		k = 1;
	}
	for (int i = k; i < e->nkids; i++) {
		if (i > k)
			sbuf_add(p->b, " ");
		pr_factor(p, e->kids[i]);
	}
}

static void pr_infix(struct printer *p, const struct expr *e, const char *op)
{
	for (int i = 0; i < e->nkids; i++) {
		if (i)
			sbuf_printf(p->b, " %s ", op);
		const struct expr *f = e->kids[i];
		/* a negated first operand needs none: unary minus binds tighter; nor
		 * does a first operand of the same binary operator (A ⊗ B ⊗ C), as the
		 * products associate to the left */
		bool bare = i == 0 && (prec_of(f) == P_UNARY || (f->op == e->op && e->nkids == 2));
		if (prec_of(f) < P_POSTFIX && !bare) {
			open_paren(p);
			pr(p, f, P_EQ);
			close_paren(p);
		} else {
			pr(p, f, P_PROD);
		}
	}
}

static void pr_base(struct printer *p, const struct expr *e)
{
	/* the operand of a postfix operator; X^T^T would be a double superscript in LaTeX
	 * and is hard to read in plain text */
	if (prec_of(e) <= P_POSTFIX || (e->op == OP_DIFF && p->latex)) {
		open_paren(p);
		pr(p, e, P_EQ);
		close_paren(p);
	} else {
		pr(p, e, P_POSTFIX);
	}
}

static void pr_call(struct printer *p, const char *name, const char *latex, const struct expr *e)
{
	if (p->latex)
		sbuf_add(p->b, latex);
	else
		sbuf_add(p->b, name);
	open_paren(p);
	for (int i = 0; i < e->nkids; i++) {
		if (i)
			sbuf_add(p->b, ", ");
		pr(p, e->kids[i], P_EQ);
	}
	close_paren(p);
}

/* One factor of a dimension's name in LaTeX: n_X_1 is n_{X_{1}} (a flat
 * n_X_1 would be a double subscript), n_theta is n_{\theta}, and a head of
 * several letters is \mathit text. */
static void latex_dim_part(struct printer *p, const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && s[k] != '_')
		k++;
	char head[64];
	snprintf(head, sizeof head, "%.*s", (int)(k < 63 ? k : 63), s);
	const char *g = greek_canonical(head);
	bool digits = k > 0 && strspn(head, "0123456789") == k;
	if (g != head && strlen(g) == 2)
		sbuf_printf(p->b, "\\%s", head);
	else if (k <= 1 || digits || (unsigned char)head[0] >= 0x80)
		latex_letters(p, s, k);
	else {
		sbuf_add(p->b, "\\mathit{");
		latex_letters(p, s, k);
		sbuf_add(p->b, "}");
	}
	if (k + 1 < n) {
		sbuf_add(p->b, "_{");
		latex_dim_part(p, s + k + 1, n - k - 1);
		sbuf_add(p->b, "}");
	}
}

static void pr_dim(struct printer *p, int d)
{
	char buf[256];
	dim_print(p->mc, d, buf, sizeof buf);
	if (!p->latex) {
		sbuf_add(p->b, buf);
		return;
	}
	/* a product size n*m is written n m */
	for (const char *s = buf; *s;) {
		size_t n = strcspn(s, "*");
		latex_dim_part(p, s, n);
		s += n;
		if (*s == '*') {
			sbuf_add(p->b, " ");
			s++;
		}
	}
}

static void pr(struct printer *p, const struct expr *e, enum prec ctx)
{
	enum prec own = prec_of(e);
	if (own < ctx) {
		open_paren(p);
		pr(p, e, P_EQ);
		close_paren(p);
		return;
	}
	struct sbuf *b = p->b;
	switch (e->op) {
	case OP_SYM:
		if (p->latex)
			latex_name(p, e->name, e->decl->kind);
		else
			print_name(p->mc, b, e->name);
		return;
	case OP_PVAR:
		sbuf_add(b, e->name);
		return;
	case OP_NUM:
		number(p, e->num);
		return;
	case OP_IDENT:
		if (e->rows < 0)
			sbuf_add(b, p->latex ? "\\mathbf{I}" : "I");
		else if (p->latex) {
			sbuf_add(b, "\\mathbf{I}_{");
			pr_dim(p, e->rows);
			sbuf_add(b, "}");
		} else {
			sbuf_add(b, "eye(");
			pr_dim(p, e->rows);
			sbuf_add(b, ")");
		}
		return;
	case OP_ZERO:
	case OP_ONES:
		if (e->rows < 0) {
			sbuf_add(b, p->latex ? "\\mathbf{0}" : "0");
			return;
		}
		if (p->latex) {
			sbuf_add(b, e->op == OP_ONES ? "\\mathbf{1}_{" : "\\mathbf{0}_{");
			pr_dim(p, e->rows);
			sbuf_add(b, " \\times ");
			pr_dim(p, e->cols);
			sbuf_add(b, "}");
		} else {
			sbuf_add(b, e->op == OP_ONES ? "ones(" : "zeros(");
			pr_dim(p, e->rows);
			sbuf_add(b, ", ");
			pr_dim(p, e->cols);
			sbuf_add(b, ")");
		}
		return;
	case OP_SIZE: /* a size as a number: its name, n (n_{X} in LaTeX) */
		pr_dim(p, (int)e->vrows);
		return;
	case OP_COMM:
		/* K(m, n); in LaTeX \operatorname{K}(m, n), which reads back */
		sbuf_add(b, p->latex ? "\\operatorname{K}(" : "K(");
		pr_dim(p, (int)e->vrows);
		sbuf_add(b, ", ");
		pr_dim(p, (int)e->vcols);
		sbuf_add(b, ")");
		return;
	case OP_MATRIX:
		sbuf_add(b, p->latex ? "\\begin{bmatrix} " : "[");
		for (long i = 0; i < e->vrows; i++) {
			if (i)
				sbuf_add(b, p->latex ? " \\\\ " : "; ");
			for (long j = 0; j < e->vcols; j++) {
				if (j)
					sbuf_add(b, p->latex ? " & " : " ");
				number(p, e->vals[j * e->vrows + i]);
			}
		}
		sbuf_add(b, p->latex ? " \\end{bmatrix}" : "]");
		return;
	case OP_DIFF:
		sbuf_add(b, p->latex ? "\\mathrm{d}" : "d");
		pr(p, e->kids[0], P_ATOM);
		return;
	case OP_ADD:
		pr_sum(p, e);
		return;
	case OP_MUL:
		pr_mul(p, e);
		return;
	case OP_HAD:
		pr_infix(p, e, p->latex ? "\\odot" : (p->mc->ascii && !p->pretty ? ".*" : "⊙"));
		return;
	case OP_EDIV:
		pr_infix(p, e, form(p, "./", "⊘", "\\oslash"));
		return;
	case OP_KRON:
		/* ASCII has no Kronecker operator: the function form parses back */
		if (!p->latex && !p->pretty && p->mc->ascii)
			pr_call(p, "kron", "", e);
		else
			pr_infix(p, e, p->latex ? "\\otimes" : "⊗");
		return;
	case OP_T:
		/* A^-1^T reads well in plain text; in LaTeX it is a double superscript */
		if (e->kids[0]->op == OP_INV && !p->latex) {
			pr_base(p, e->kids[0]->kids[0]);
			sbuf_add(b, form(p, "^-1^T", "⁻¹ᵀ", ""));
			return;
		}
		pr_base(p, e->kids[0]);
		sbuf_add(b, form(p, "^T", "ᵀ", "^\\top"));
		return;
	case OP_INV:
		if (e->kids[0]->op == OP_T) {
			pr_base(p, e->kids[0]->kids[0]);
			sbuf_add(b, form(p, "^-T", "⁻ᵀ", "^{-\\top}"));
			return;
		}
		pr_base(p, e->kids[0]);
		sbuf_add(b, form(p, "^-1", "⁻¹", "^{-1}"));
		return;
	case OP_POW: {
		pr_base(p, e->kids[0]);
		const struct expr *x = e->kids[1];
		if (p->latex) {
			sbuf_add(b, "^{");
			pr(p, x, P_EQ);
			sbuf_add(b, "}");
		} else if (x->op == OP_NUM && p->pretty && (x->num == 2 || x->num == 3)) {
			/* the superscripts the reader knows (grammar/lexer.l) */
			sbuf_add(b, x->num == 2 ? "²" : "³");
		} else if (x->op == OP_NUM) {
			sbuf_add(b, "^");
			number(p, x->num);
		} else if (x->op == OP_SYM) {
			sbuf_add(b, "^");
			pr(p, x, P_ATOM);
		} else {
			sbuf_add(b, "^(");
			pr(p, x, P_EQ);
			sbuf_add(b, ")");
		}
		return;
	}
	case OP_NORM2:
	case OP_NORMF: {
		/* inside a norm, || after an operand closes it: a nested norm goes in
		 * parentheses, after which || can only open one */
		bool nested = !p->latex && p->in_norm > 0;
		if (nested)
			open_paren(p);
		sbuf_add(b, form(p, "||", "‖", "\\left\\| "));
		p->in_norm++;
		pr(p, e->kids[0], P_EQ);
		p->in_norm--;
		sbuf_add(b, form(p, "||", "‖", " \\right\\|"));
		if (e->op == OP_NORMF)
			sbuf_add(b, "_F");
		else if (p->latex)
			sbuf_add(b, "_2");
		if (nested)
			close_paren(p);
		return;
	}
	case OP_TR:
		pr_call(p, "tr", "\\operatorname{tr}", e);
		return;
	case OP_DET:
		pr_call(p, "det", "\\det", e);
		return;
	case OP_LOGDET:
		pr_call(p, "logdet", "\\log\\det", e);
		return;
	case OP_EXP:
	case OP_LOG:
	case OP_SIN:
	case OP_COS:
	case OP_TAN:
	case OP_TANH: {
		char l[32];
		snprintf(l, sizeof l, "\\%s", expr_op_info(e->op)->name);
		pr_call(p, expr_op_info(e->op)->name, l, e);
		return;
	}
	case OP_SQRT:
		if (p->latex) {
			sbuf_add(b, "\\sqrt{");
			pr(p, e->kids[0], P_EQ);
			sbuf_add(b, "}");
		} else {
			pr_call(p, "sqrt", "", e);
		}
		return;
	case OP_GRAD:
		if (p->latex || p->pretty) {
			sbuf_add(b, p->latex ? "\\nabla_{" : "∇_");
			pr(p, e->kids[1], p->latex ? P_EQ : P_ATOM);
			sbuf_add(b, p->latex ? "} " : " ");
			wrapped(p, e->kids[0], P_POSTFIX, prec_of(e->kids[0]));
			return;
		}
		pr_call(p, "grad", "", e);
		return;
	case OP_D:
		pr_call(p, "d", "\\mathrm{d}", e);
		return;
	case OP_EQ:
		pr(p, e->kids[0], P_SUM);
		sbuf_add(b, " = ");
		pr(p, e->kids[1], P_SUM);
		return;
	default: {
		const char *name = expr_op_info(e->op)->name;
		char l[64];
		snprintf(l, sizeof l, "\\operatorname{%s}", name ? name : "?");
		pr_call(p, name ? name : "?", l, e);
		return;
	}
	}
}

void print_name_style(struct mc *mc, struct sbuf *b, const char *name, enum print_style style)
{
	if (style != PRINT_LATEX) {
		print_name(mc, b, name);
		return;
	}
	struct printer p = {mc, b, true, 0, false};
	latex_name(&p, name, KIND_SCALAR);
}

void print_expr(struct mc *mc, struct sbuf *b, const struct expr *e, enum print_style style)
{
	struct printer p = {mc, b, style == PRINT_LATEX, 0, style == PRINT_PRETTY};
	pr(&p, e, P_EQ);
}

char *print_str(struct mc *mc, const struct expr *e, enum print_style style)
{
	struct sbuf b = {0};
	print_expr(mc, &b, e, style);
	return sbuf_take(&b);
}

static char *print_plain(struct mc *mc, const struct expr *e) { return print_str(mc, e, PRINT_PLAIN); }

void print_install(struct mc *mc) { mc->print_plain = print_plain; }
