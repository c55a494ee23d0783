/* steps.c - derivation records and their printing: bookkeeping folded into the
 * steps a textbook shows, left-hand sides (d f = ..., grad(f, X) = ...), citations merged. */
#include "steps.h"

#include <stdlib.h>
#include <string.h>

#include "rules.h"

/* ---- recording ---- */

static struct step *steps_push(struct steps *st)
{
	if (st->n == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 32;
		st->v = mc_xrealloc(st->v, (size_t)st->cap * sizeof *st->v);
	}
	struct step *s = &st->v[st->n++];
	memset(s, 0, sizeof *s);
	return s;
}

void steps_add(struct steps *st, const struct rule *r, struct expr *before, struct expr *after)
{
	if (!st)
		return;
	struct step *s = steps_push(st);
	s->kind = STEP_RULE;
	s->rule = r;
	s->show = r->show;
	s->before = before;
	s->after = after;
}

void steps_note(struct steps *st, enum rule_show show, const char *note, bool builtin,
		struct expr *before, struct expr *after)
{
	if (!st || before == after)
		return;
	struct step *s = steps_push(st);
	s->kind = STEP_NOTE;
	s->show = show;
	s->note = note;
	s->builtin = builtin;
	s->before = before;
	s->after = after;
}

void steps_begin(struct steps *st, struct expr *fn, struct expr *var, struct expr *d)
{
	if (!st)
		return;
	struct step *s = steps_push(st);
	s->kind = STEP_BEGIN;
	s->fn = fn;
	s->var = var;
	s->before = s->after = d;
}

void steps_readoff(struct steps *st, enum expr_op what, struct expr *fn, struct expr *var,
		   struct expr *df, struct expr *result, const char *note)
{
	if (!st)
		return;
	struct step *s = steps_push(st);
	s->kind = STEP_READOFF;
	s->show = SHOW_STEP;
	s->what = what;
	s->fn = fn;
	s->var = var;
	s->note = note;
	s->before = df;
	s->after = result;
}

void steps_free(struct steps *st)
{
	free(st->v);
	memset(st, 0, sizeof *st);
}

/* ---- citations ---- */

/* The citations of one line: Cookbook equations ("MC (33)") and the rest. */
struct cites {
	const char **mc; /* "(33)" parts, owned */
	int nmc;
	const char **other; /* borrowed */
	int nother;
};

static bool in_list(const char **v, int n, const char *s, size_t len)
{
	for (int i = 0; i < n; i++)
		if (strlen(v[i]) == len && strncmp(v[i], s, len) == 0)
			return true;
	return false;
}

/* Adds a citation; "MC (13), (16)" gives two Cookbook parts. */
static void cites_add(struct cites *c, const char *cite)
{
	if (!cite || !*cite)
		return;
	if (strncmp(cite, "MC (", 4) == 0) {
		for (const char *p = cite + 3; *p;) {
			while (*p == ' ' || *p == ',')
				p++;
			size_t len = strcspn(p, ",");
			while (len && p[len - 1] == ' ')
				len--;
			if (len && !in_list(c->mc, c->nmc, p, len)) {
				c->mc = mc_xrealloc(c->mc, (size_t)(c->nmc + 1) * sizeof *c->mc);
				char *part = mc_xmalloc(len + 1);
				memcpy(part, p, len);
				part[len] = '\0';
				c->mc[c->nmc++] = part;
			}
			p += strcspn(p, ",");
		}
		return;
	}
	if (in_list(c->other, c->nother, cite, strlen(cite)))
		return;
	c->other = mc_xrealloc(c->other, (size_t)(c->nother + 1) * sizeof *c->other);
	c->other[c->nother++] = cite;
}

static void cites_merge(struct cites *into, const struct cites *from)
{
	struct sbuf b = {0};
	for (int i = 0; i < from->nmc; i++) {
		sbuf_printf(&b, "MC %s", from->mc[i]);
		cites_add(into, b.s);
		b.len = 0;
		b.s[0] = '\0';
	}
	sbuf_free(&b);
	for (int i = 0; i < from->nother; i++)
		cites_add(into, from->other[i]);
}

static void cites_free(struct cites *c)
{
	for (int i = 0; i < c->nmc; i++)
		free((char *)c->mc[i]);
	free(c->mc);
	free(c->other);
	memset(c, 0, sizeof *c);
}

/* "(33)" < "(34)" < "(108)"; parts that are not a number keep their order after them. */
static int cite_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	char *ex, *ey;
	long nx = strtol(x + (*x == '('), &ex, 10), ny = strtol(y + (*y == '('), &ey, 10);
	bool kx = ex != x + (*x == '('), ky = ey != y + (*y == '(');
	if (kx != ky)
		return kx ? -1 : 1;
	if (kx && nx != ny)
		return nx < ny ? -1 : 1;
	return strcmp(x, y);
}

/* "MC (33), (34), (37), algebra" */
static void cites_format(struct cites *c, struct sbuf *b)
{
	if (c->nmc > 1) /* qsort's array may not be NULL, even when empty */
		qsort(c->mc, (size_t)c->nmc, sizeof *c->mc, cite_cmp);
	for (int i = 0; i < c->nmc; i++)
		sbuf_printf(b, "%s%s", i ? ", " : "MC ", c->mc[i]);
	for (int i = 0; i < c->nother; i++)
		sbuf_printf(b, "%s%s", c->nmc || i ? ", " : "", c->other[i]);
}

static const char *step_cite(const struct step *s)
{
	return s->kind == STEP_RULE ? s->rule->cite : s->note;
}

/* ---- lines ---- */

struct line {
	char *lhs; /* owned; NULL: a continuation, "= ..." under the line before */
	const struct expr *shown;
	struct cites cites;
	int last; /* the last step it covers */
};

struct printer {
	struct mc *mc;
	const struct steps_style *how;
	const struct steps *st;
	const struct expr *stmt;
	struct line *lines;
	int n, cap;
	const struct expr **alias; /* the forms of the named function */
	int nalias;
	char *next_lhs;		/* set by a STEP_BEGIN: the next line's (owned) */
	const char *chain_lhs;	/* the left side the current "= ..." lines continue */
	const struct expr *chain_shown; /* what the last line showed */
	bool hessian;			/* the Hessian has been read off */
};

static char *text(struct printer *p, const struct expr *e)
{
	return print_str(p->mc, e, p->how->style);
}

static bool is_alias(struct printer *p, const struct expr *e)
{
	for (int i = 0; i < p->nalias; i++)
		if (p->alias[i] == e)
			return true;
	return false;
}

static void add_alias(struct printer *p, const struct expr *e)
{
	if (is_alias(p, e))
		return;
	p->alias = mc_xrealloc(p->alias, (size_t)(p->nalias + 1) * sizeof *p->alias);
	p->alias[p->nalias++] = e;
}

static bool is_call(const struct expr *e)
{
	const struct op_info *oi = expr_op_info(e->op);
	return e->op == OP_SYM || (oi->name && oi->arity == 1 && e->op != OP_T && e->op != OP_INV);
}

static bool is_norm(const struct expr *e)
{
	if (e->op == OP_POW)
		e = e->kids[0];
	return e->op == OP_NORM2 || e->op == OP_NORMF;
}

enum fn_form { FN_NAME, FN_CHAIN, FN_EXPR };

/* The function as a left side names it: its name, the left side of the chain
 * that showed it (a gradient being differentiated again), or written out. */
static char *fn_text(struct printer *p, const struct expr *fn, enum fn_form *form)
{
	struct sbuf b = {0};
	if (p->how->fname && is_alias(p, fn)) {
		print_name_style(p->mc, &b, p->how->fname, p->how->style);
		*form = FN_NAME;
		return sbuf_take(&b);
	}
	if (p->chain_lhs && fn == p->chain_shown) {
		*form = FN_CHAIN;
		return mc_xstrdup(p->chain_lhs);
	}
	*form = FN_EXPR;
	return text(p, fn);
}

static bool latex(const struct printer *p) { return p->how->style == PRINT_LATEX; }

/* t in parentheses */
static void paren(struct printer *p, struct sbuf *b, const char *t)
{
	sbuf_printf(b, latex(p) ? "\\left(%s\\right)" : "(%s)", t);
}

/* d f, d||e||^2, d tr(A), d(a + b) */
static char *d_lhs(struct printer *p, const struct expr *fn)
{
	enum fn_form form;
	char *t = fn_text(p, fn, &form);
	struct sbuf b = {0};
	sbuf_add(&b, latex(p) ? "\\mathrm{d}" : "d");
	if (form == FN_NAME || (form == FN_EXPR && is_call(fn)))
		sbuf_printf(&b, " %s", t);
	else if (form == FN_EXPR && is_norm(fn))
		sbuf_printf(&b, "%s%s", latex(p) ? " " : "", t);
	else
		paren(p, &b, t);
	free(t);
	return sbuf_take(&b);
}

/* grad(f, X), hess(f, x), jacobian(F, x), and their LaTeX and pretty forms */
static char *result_lhs(struct printer *p, enum expr_op what, const struct expr *fn,
			const struct expr *var)
{
	enum fn_form form;
	char *t = fn_text(p, fn, &form);
	char *v = text(p, var);
	bool bare = form == FN_NAME || (form == FN_EXPR && (is_call(fn) || is_norm(fn)));
	struct sbuf b = {0};
	enum print_style style = p->how->style;
	if (style == PRINT_LATEX || (style == PRINT_PRETTY && what != OP_JAC)) {
		if (what == OP_JAC)
			sbuf_printf(&b, "\\frac{\\partial}{\\partial %s} ", v);
		else if (style == PRINT_LATEX)
			sbuf_printf(&b, "\\nabla%s_{%s} ", what == OP_HESS ? "^2" : "", v);
		else
			sbuf_printf(&b, "∇%s_%s ", what == OP_HESS ? "²" : "", v);
		if (bare)
			sbuf_add(&b, t);
		else
			paren(p, &b, t);
	} else {
		sbuf_printf(&b, "%s(%s, %s)",
			    what == OP_GRAD ? "grad" : what == OP_HESS ? "hess" : "jacobian", t, v);
	}
	free(t);
	free(v);
	return sbuf_take(&b);
}

/* The statement as a left side: grad(f, X) with f's name when it has one. */
static char *stmt_lhs(struct printer *p, const struct expr *e)
{
	if (e->op == OP_GRAD || e->op == OP_HESS || e->op == OP_JAC)
		return result_lhs(p, e->op, e->kids[0], e->kids[1]);
	return text(p, e);
}

static struct line *new_line(struct printer *p, int first, int last, const struct expr *shown)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->lines = mc_xrealloc(p->lines, (size_t)p->cap * sizeof *p->lines);
	}
	struct line *l = &p->lines[p->n++];
	memset(l, 0, sizeof *l);
	l->last = last;
	l->shown = shown;
	const struct step *v = p->st->v;
	if (v[last].kind == STEP_READOFF && v[last].what == OP_HESS)
		p->hessian = true;
	if (p->next_lhs) {
		l->lhs = p->next_lhs;
		p->next_lhs = NULL;
	} else if (v[last].kind == STEP_READOFF) {
		l->lhs = result_lhs(p, v[last].what, v[last].fn, v[last].var);
	} else {
		/* a line continues the one before when it starts from what that one
		 * showed; otherwise it starts afresh from the statement, or from the
		 * grad(...) inside it that the rules work on */
		const struct expr *start = v[first].before, *stmt = p->stmt;
		if (!p->chain_shown || start != p->chain_shown) {
			if (start->flags & EF_HAS_OP)
				l->lhs = stmt_lhs(p, start);
			else if (stmt->op == OP_HESS && !p->hessian)
				/* a Hessian's gradient comes first */
				l->lhs = result_lhs(p, OP_GRAD, stmt->kids[0], stmt->kids[1]);
			else
				l->lhs = stmt_lhs(p, stmt);
		}
	}
	if (l->lhs)
		p->chain_lhs = l->lhs;
	p->chain_shown = shown;
	return l;
}

/* Tracks the forms the named function takes as the rules rewrite grad(f, X). */
static void follow_alias(struct printer *p, const struct step *s)
{
	const struct expr *a = s->before, *b = s->after;
	if ((a->op == OP_GRAD || a->op == OP_HESS || a->op == OP_JAC) && a->op == b->op &&
	    a->kids[1] == b->kids[1] && is_alias(p, a->kids[0]))
		add_alias(p, b->kids[0]);
}

/* Bookkeeping right after a read-off, on what it read off (terms put in order),
 * joins the read-off's line: the result is shown once, in its final form. */
static bool onto_readoff(struct printer *p, int first, int last, struct cites *pending)
{
	const struct step *v = p->st->v;
	if (!p->n)
		return false;
	struct line *l = &p->lines[p->n - 1];
	if (v[l->last].kind != STEP_READOFF || l->last != first - 1 || v[first].before != l->shown)
		return false;
	cites_merge(&l->cites, pending);
	cites_free(pending);
	l->last = last;
	l->shown = v[last].after;
	p->chain_shown = l->shown;
	return true;
}

/* The lines a textbook shows: bookkeeping folds into the next step shown, a
 * tidy-up into the step before it, and what is left before a read-off (or at
 * the end) makes a line of its own. */
static void fold_lines(struct printer *p)
{
	const struct steps *st = p->st;
	struct cites pending = {0};
	int pfirst = -1;
	for (int i = 0; i < st->n; i++) {
		const struct step *s = &st->v[i];
		if (s->kind == STEP_BEGIN) {
			if (pfirst >= 0 && onto_readoff(p, pfirst, i - 1, &pending)) {
				pfirst = -1;
			} else if (pfirst >= 0 &&
				   (st->v[i - 1].after == s->fn ||
				    (p->n && st->v[pfirst].before == p->chain_shown))) {
				/* what the bookkeeping made is shown before the next
				 * derivation starts when it is differentiated next (a
				 * gradient, for its Hessian) or ends the derivation shown
				 * last (d(x^T) A x + x^T A d(x) = dx^T A x + x^T A dx) */
				struct line *l = new_line(p, pfirst, i - 1, st->v[i - 1].after);
				l->cites = pending;
				memset(&pending, 0, sizeof pending);
				pfirst = -1;
			}
			free(p->next_lhs);
			p->next_lhs = d_lhs(p, s->fn);
			continue;
		}
		if (s->kind != STEP_READOFF)
			follow_alias(p, s);
		if (s->kind == STEP_READOFF) {
			if (pfirst >= 0) {
				struct line *l = new_line(p, pfirst, i - 1, st->v[i - 1].after);
				l->cites = pending;
				memset(&pending, 0, sizeof pending);
				pfirst = -1;
			}
			struct line *l = new_line(p, i, i, s->after);
			cites_add(&l->cites, s->note);
			continue;
		}
		if (s->show == SHOW_TIDY && pfirst < 0 && p->n && p->lines[p->n - 1].last == i - 1 &&
		    st->v[i - 1].kind != STEP_READOFF) {
			struct line *l = &p->lines[p->n - 1];
			cites_add(&l->cites, step_cite(s));
			l->last = i;
			l->shown = s->after;
			p->chain_shown = s->after;
			continue;
		}
		if (pfirst < 0)
			pfirst = i;
		cites_add(&pending, step_cite(s));
		if (s->show == SHOW_STEP) {
			struct line *l = new_line(p, pfirst, i, s->after);
			l->cites = pending;
			memset(&pending, 0, sizeof pending);
			pfirst = -1;
		}
	}
	if (pfirst >= 0 && !onto_readoff(p, pfirst, st->n - 1, &pending)) {
		struct line *l = new_line(p, pfirst, st->n - 1, st->v[st->n - 1].after);
		l->cites = pending;
		memset(&pending, 0, sizeof pending);
	}
	cites_free(&pending);
}

/* Every rule applied, a line each (the engine's d(A) of symbols aside). */
static void all_lines(struct printer *p)
{
	const struct steps *st = p->st;
	for (int i = 0; i < st->n; i++) {
		const struct step *s = &st->v[i];
		if (s->kind == STEP_BEGIN) {
			free(p->next_lhs);
			p->next_lhs = d_lhs(p, s->fn);
			continue;
		}
		if (s->kind != STEP_READOFF)
			follow_alias(p, s);
		if (s->builtin) {
			if (p->chain_shown == s->before)
				p->chain_shown = s->after;
			continue;
		}
		struct line *l = new_line(p, i, i, s->after);
		cites_add(&l->cites, step_cite(s));
	}
}

/* Display width of UTF-8 text: code points, less combining marks (U+0300-U+036F). */
static int width(const char *s)
{
	int w = 0;
	for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
		if ((*u & 0xC0) == 0x80)
			continue;
		if ((*u == 0xCC && u[1] >= 0x80) || (*u == 0xCD && u[1] < 0xB0))
			continue;
		w++;
	}
	return w;
}

/* The width of a LaTeX string as it renders, in characters, roughly: commands
 * that only style (\mathbf, \left) count nothing, a symbol command (\theta,
 * \odot) one, a binary operator two with its spaces; a subscript or
 * superscript counts like the rest (it is narrower: the estimate errs wide). */
static int tex_width(const char *s)
{
	static const char *const styling[] = {"left",	     "right",	  "mathbf",   "boldsymbol",
					      "mathrm",	     "operatorname", "mathit", "tag",
					      "begin",	     "end",	  "quad",     NULL};
	int w = 0;
	for (const unsigned char *u = (const unsigned char *)s; *u;) {
		if (*u == '\\') {
			const unsigned char *k = u + 1;
			while ((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z'))
				k++;
			size_t n = (size_t)(k - u - 1);
			bool style = n == 0; /* \, \; \| */
			for (int i = 0; styling[i] && !style; i++)
				style = strlen(styling[i]) == n && strncmp((const char *)u + 1, styling[i], n) == 0;
			if (n == 0 && *k == '|')
				w++;
			if (!style)
				w += n == 3 && strncmp((const char *)u + 1, "top", 3) == 0 ? 1 : n ? 1 : 0;
			u = n ? k : k + 1;
			continue;
		}
		if (*u == '+' || *u == '-' || *u == '=')
			w += 2;
		else if (*u != '{' && *u != '}' && *u != '^' && *u != '_' && *u != ' ' && *u != '&')
			w++;
		u++;
	}
	return w;
}

/* The widest line a printed page at 11 pt holds, in tex_width's characters
 * (tests/test_render.py measures the rendered lines in a browser). */
#define TEX_LINE 62

/* The right side in LaTeX; a long sum breaks at its top-level + and - into
 * the rows of an aligned block, each at most room wide. */
static char *tex_rhs(struct printer *p, const struct expr *e, int room)
{
	char *whole = text(p, e);
	if (e->op != OP_ADD || tex_width(whole) <= room)
		return whole;
	free(whole);
	struct sbuf b = {0};
	sbuf_add(&b, "\\begin{aligned} ");
	int used = 0, from = 0;
	for (int i = 0; i <= e->nkids; i++) {
		char *t = NULL;
		int tw = 0;
		if (i < e->nkids) {
			/* the chunk from..i as a sum, to see whether term i still fits */
			struct expr *chunk = expr_make(p->mc, OP_ADD, i - from + 1,
						       (struct expr **)e->kids + from, false);
			t = chunk ? text(p, chunk) : NULL;
			tw = t ? tex_width(t) : 0;
			if (!t)
				mc_clear_error(p->mc);
		}
		if (i == e->nkids || (i > from && tw > room)) {
			struct expr *chunk = expr_make(p->mc, OP_ADD, i - from,
						       (struct expr **)e->kids + from, false);
			char *c = chunk ? text(p, chunk) : NULL;
			if (!c) {
				mc_clear_error(p->mc);
				free(t);
				sbuf_free(&b);
				return text(p, e);
			}
			/* a row after the first continues the sum: {} + t, {} - t */
			sbuf_printf(&b, "%s&%s%s", used ? " \\\\ " : "",
				    used ? (c[0] == '-' ? "{} " : "{} + ") : "", c);
			free(c);
			used++;
			from = i;
		}
		free(t);
	}
	sbuf_add(&b, " \\end{aligned}");
	return sbuf_take(&b);
}

static void print_lines(struct printer *p, FILE *out)
{
	bool tex = latex(p);
	int lhsw = 0;
	if (tex) {
		fputs("\\begin{align*}\n", out);
		for (int i = 0; i < p->n; i++)
			if (p->lines[i].lhs && tex_width(p->lines[i].lhs) > lhsw)
				lhsw = tex_width(p->lines[i].lhs);
	}
	int indent = 0;
	for (int i = 0; i < p->n; i++) {
		struct line *l = &p->lines[i];
		struct sbuf c = {0};
		cites_format(&l->cites, &c);
		/* the right side's room: the page less the widest left side, "= " and the tag */
		char *rhs = tex ? tex_rhs(p, l->shown, TEX_LINE - lhsw - 2 - (c.len ? (int)c.len + 2 : 0))
				: text(p, l->shown);
		if (tex) {
			fprintf(out, "%s%s&= %s", l->lhs ? l->lhs : "", l->lhs ? " " : "", rhs);
			if (c.len)
				fprintf(out, " \\tag*{%s}", c.s);
			fputs(i + 1 < p->n ? " \\\\\n" : "\n", out);
		} else {
			if (l->lhs) {
				indent = width(l->lhs) + 1;
				fprintf(out, "%s = %s", l->lhs, rhs);
			} else {
				fprintf(out, "%*s= %s", indent, "", rhs);
			}
			if (c.len)
				fprintf(out, "    [%s]", c.s);
			fputc('\n', out);
		}
		sbuf_free(&c);
		free(rhs);
	}
	if (tex)
		fputs("\\end{align*}\n", out);
}

void steps_print(struct mc *mc, FILE *out, const struct steps *st, const struct expr *stmt,
		 const struct expr *result, const struct steps_style *how)
{
	struct printer p = {mc, how, st, stmt, NULL, 0, 0, NULL, 0, NULL, NULL, NULL, false};
	if (how->fname && how->fdef)
		add_alias(&p, how->fdef);
	if (how->all)
		all_lines(&p);
	else
		fold_lines(&p);
	/* the result, when the last line did not show it (not expected: every
	 * rewriting is recorded) */
	if (!p.n || p.lines[p.n - 1].shown != result) {
		char *lhs = stmt_lhs(&p, stmt);
		if (p.chain_lhs && strcmp(p.chain_lhs, lhs) == 0) {
			free(lhs);
			lhs = NULL;
		}
		if (p.n == p.cap) {
			p.cap = p.cap ? 2 * p.cap : 16;
			p.lines = mc_xrealloc(p.lines, (size_t)p.cap * sizeof *p.lines);
		}
		struct line *l = &p.lines[p.n++];
		memset(l, 0, sizeof *l);
		l->lhs = lhs;
		l->shown = result;
	}
	/* plain text: the statement first, unless the first line starts with it */
	if (how->style != PRINT_LATEX) {
		char *head = stmt_lhs(&p, stmt);
		if (!p.lines[0].lhs || strcmp(p.lines[0].lhs, head) != 0)
			fprintf(out, "%s\n", head);
		free(head);
	}
	print_lines(&p, out);
	for (int i = 0; i < p.n; i++) {
		free(p.lines[i].lhs);
		cites_free(&p.lines[i].cites);
	}
	free(p.lines);
	free(p.alias);
	free(p.next_lhs);
}
