/* rules.c - reading rule files: the rule grammar's syntax tree turned into patterns. */
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "print.h"
#include "rules.h"

const char *const rule_cond_names[COND_COUNT] = {
    [COND_SCALAR] = "scalar",
    [COND_VECTOR] = "vector",
    [COND_MATRIX] = "matrix",
    [COND_SQUARE] = "square",
    [COND_SYMMETRIC] = "symmetric",
    [COND_SPD] = "spd",
    [COND_CONST] = "const",
    [COND_NODIFF] = "nodiff",
    [COND_HASDIFF] = "hasdiff",
    [COND_NUM] = "num",
    [COND_INT] = "int",
    [COND_NOTNUM] = "notnum",
    [COND_DIFFVAR] = "diffvar",
    [COND_NONSCALAR] = "nonscalar",
    [COND_KNOWN] = "known",
    [COND_POS] = "pos",
    [COND_NEG] = "neg",
};

static const char *const known_sections[] = {
    "simplify", "differential", "gradient", "readoff", "factor", NULL,
};

struct loader {
	struct session *s;
	struct parse *p;
	const char *file;
	/* pattern variables seen on the left side */
	const char *lhs_vars[RULE_MAX_VARS];
	int nlhs;
	bool in_lhs;
};

static bool lerr(struct loader *ld, struct loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool lerr(struct loader *ld, struct loc loc, const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	syn_error(ld->p, loc, "%s", b.s ? b.s : "");
	sbuf_free(&b);
	return false;
}

static struct expr *pattern(struct loader *ld, const struct syn *n);

static struct expr *made(struct loader *ld, const struct syn *n, struct expr *e)
{
	if (!e) {
		lerr(ld, n->loc, "%s", ld->s->mc->err.msg ? ld->s->mc->err.msg : "bad pattern");
		mc_clear_error(ld->s->mc);
	}
	return e;
}

static struct expr *pattern_call(struct loader *ld, const struct syn *n)
{
	struct mc *mc = ld->s->mc;
	enum expr_op op;
	int o = expr_op_by_name(n->name);
	if (strcmp(n->name, "grad") == 0)
		op = OP_GRAD;
	else if (strcmp(n->name, "hess") == 0)
		op = OP_HESS;
	else if (strcmp(n->name, "jacobian") == 0)
		op = OP_JAC;
	else if (strcmp(n->name, "d") == 0)
		op = OP_D;
	else if (o >= 0)
		op = (enum expr_op)o;
	else {
		const char *sug = session_suggest_function(n->name);
		if (sug)
			lerr(ld, n->loc, "unknown function '%s' (did you mean '%s'?)", n->name,
			     sug);
		else
			lerr(ld, n->loc, "unknown function '%s'", n->name);
		return NULL;
	}
	int arity = expr_op_info(op)->arity;
	if (n->n != arity) {
		lerr(ld, n->loc, "%s takes %d argument%s", n->name, arity, arity == 1 ? "" : "s");
		return NULL;
	}
	struct expr *k[2];
	for (int i = 0; i < n->n; i++) {
		k[i] = pattern(ld, n->kids[i]);
		if (!k[i])
			return NULL;
	}
	return made(ld, n, expr_make(mc, op, n->n, k, false));
}

static struct expr *pattern_op(struct loader *ld, const struct syn *n)
{
	struct mc *mc = ld->s->mc;
	struct expr *a = pattern(ld, n->kids[0]);
	struct expr *b = NULL;
	if (!a)
		return NULL;
	if (n->n > 1 && !(b = pattern(ld, n->kids[1])))
		return NULL;
	struct expr *r = NULL;
	switch ((enum syn_op)n->op) {
	case SOP_ADD:
		r = expr_make2(mc, OP_ADD, a, b, false);
		break;
	case SOP_SUB:
		r = expr_make2(mc, OP_MUL, expr_num(mc, -1), b, false);
		r = r ? expr_make2(mc, OP_ADD, a, r, false) : NULL;
		break;
	case SOP_NEG:
		r = expr_make2(mc, OP_MUL, expr_num(mc, -1), a, false);
		break;
	case SOP_MUL:
		r = expr_make2(mc, OP_MUL, a, b, false);
		break;
	case SOP_DIV:
		r = expr_make1(mc, OP_INV, b, false);
		r = r ? expr_make2(mc, OP_MUL, a, r, false) : NULL;
		break;
	case SOP_HAD:
		r = expr_make2(mc, OP_HAD, a, b, false);
		break;
	case SOP_EDIV:
		r = expr_make2(mc, OP_EDIV, a, b, false);
		break;
	case SOP_KRON:
		r = expr_make2(mc, OP_KRON, a, b, false);
		break;
	case SOP_T:
		r = expr_make1(mc, OP_T, a, false);
		break;
	case SOP_INV:
		r = expr_make1(mc, OP_INV, a, false);
		break;
	case SOP_INVT:
		r = expr_make1(mc, OP_T, a, false);
		r = r ? expr_make1(mc, OP_INV, r, false) : NULL;
		break;
	case SOP_POW:
		r = expr_make2(mc, OP_POW, a, b, false);
		break;
	case SOP_EPOW:
	case SOP_LDIV:
		lerr(ld, n->loc, "a rule writes .^ and \\ as ⊙ and inv(...)");
		return NULL;
	}
	return made(ld, n, r);
}

static struct expr *pattern(struct loader *ld, const struct syn *n)
{
	struct mc *mc = ld->s->mc;
	switch (n->kind) {
	case SYN_IDENT:
		if (strcmp(n->name, "I") == 0)
			return expr_ident(mc, DIM_ANY);
		if (ld->in_lhs) {
			int i;
			for (i = 0; i < ld->nlhs; i++)
				if (strcmp(ld->lhs_vars[i], n->name) == 0)
					break;
			if (i == ld->nlhs) {
				if (ld->nlhs == RULE_MAX_VARS) {
					lerr(ld, n->loc, "a rule has at most %d variables",
					     RULE_MAX_VARS);
					return NULL;
				}
				ld->lhs_vars[ld->nlhs++] = mc_intern(mc, n->name);
			}
		} else {
			int i;
			for (i = 0; i < ld->nlhs; i++)
				if (strcmp(ld->lhs_vars[i], n->name) == 0)
					break;
			if (i == ld->nlhs) {
				lerr(ld, n->loc,
				     "'%s' does not appear on the left side of the rule", n->name);
				return NULL;
			}
		}
		return expr_pvar(mc, n->name);
	case SYN_NUM:
		return expr_num(mc, n->num);
	case SYN_CALL:
		return pattern_call(ld, n);
	case SYN_OP:
		return pattern_op(ld, n);
	case SYN_NORM:
		if (n->sub == 0) {
			lerr(ld, n->loc, "in a rule, write the norm's kind: ||x||_2 or ||A||_F");
			return NULL;
		}
		{
			struct expr *a = pattern(ld, n->kids[0]);
			return a ? made(ld, n,
					expr_make1(mc, n->sub == 2 ? OP_NORM2 : OP_NORMF, a, false))
				 : NULL;
		}
	default:
		lerr(ld, n->loc, "this cannot stand in a rule");
		return NULL;
	}
}

/* The citation and how the rule shows in a derivation: "MC (33) [tidy]". */
static bool rule_cite(struct loader *ld, struct rule *ru, const struct syn *r, const char *section)
{
	static const char *const tags[] = {[SHOW_STEP] = "step", [SHOW_FOLD] = "fold",
					   [SHOW_TIDY] = "tidy"};
	const char *cite = r->name;
	size_t n = strlen(cite);
	ru->show = strcmp(section, "differential") == 0 || strcmp(section, "gradient") == 0
		       ? SHOW_STEP
		       : SHOW_FOLD;
	if (n && cite[n - 1] == ']') {
		const char *open = strrchr(cite, '[');
		size_t k;
		for (k = 0; open && k < sizeof tags / sizeof *tags; k++)
			if (strlen(tags[k]) == (size_t)(cite + n - 1 - open - 1) &&
			    strncmp(open + 1, tags[k], strlen(tags[k])) == 0)
				break;
		if (!open || k == sizeof tags / sizeof *tags) {
			/* the caret goes under the tag: the last '[' of the rule's text */
			struct loc at = r->loc;
			for (int i = r->loc.last - 1; i > r->loc.first; i--)
				if (ld->p->src[i] == '[') {
					at.first = i;
					break;
				}
			return lerr(ld, at, "unknown tag '%s' after the citation: use [step], [fold] or [tidy]",
				    open ? open : cite);
		}
		ru->show = (enum rule_show)k;
		n = (size_t)(open - cite);
		while (n && cite[n - 1] == ' ')
			n--;
		if (!n)
			return lerr(ld, r->loc, "a tag needs a citation before it: '@ MC (N) %s'",
				    open);
	}
	char *c = mc_xmalloc(n + 1);
	memcpy(c, cite, n);
	c[n] = '\0';
	ru->cite = mc_intern(ld->s->mc, c);
	free(c);
	return true;
}

static bool add_rule(struct loader *ld, struct rules *rs, const struct syn *r, const char *section)
{
	struct mc *mc = ld->s->mc;
	if (!section)
		return lerr(ld, r->loc,
			    "a rule before any [section] header: start with [simplify], "
			    "[differential] or [gradient]");
	ld->nlhs = 0;
	ld->in_lhs = true;
	struct expr *lhs = pattern(ld, r->kids[0]);
	if (!lhs)
		return false;
	if (lhs->op == OP_PVAR)
		return lerr(ld, r->kids[0]->loc,
			    "the left side of a rule cannot be a lone variable");
	ld->in_lhs = false;
	struct expr *rhs = pattern(ld, r->kids[1]);
	if (!rhs)
		return false;
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 64;
		rs->v = mc_xrealloc(rs->v, (size_t)rs->cap * sizeof *rs->v);
	}
	struct rule *ru = &rs->v[rs->n];
	memset(ru, 0, sizeof *ru);
	ru->section = mc_intern(mc, section);
	ru->file = mc_intern(mc, ld->file);
	int line, col;
	loc_linecol(ld->p->src, ld->p->len, r->loc.first, &line, &col);
	ru->line = line;
	if (!rule_cite(ld, ru, r, section))
		return false;
	ru->lhs = lhs;
	ru->rhs = rhs;
	ru->nconds = r->n - 2;
	if (ru->nconds > 0)
		ru->conds = mc_alloc(mc, (size_t)ru->nconds * sizeof *ru->conds);
	for (int i = 0; i < ru->nconds; i++) {
		const struct syn *c = r->kids[2 + i];
		int k;
		for (k = 0; k < COND_COUNT; k++)
			if (strcmp(rule_cond_names[k], c->name) == 0)
				break;
		if (k == COND_COUNT) {
			struct sbuf names = {0};
			for (k = 0; k < COND_COUNT; k++)
				sbuf_printf(&names, "%s%s", k ? " " : "", rule_cond_names[k]);
			lerr(ld, c->loc, "unknown condition '%s' (known: %s)", c->name, names.s);
			sbuf_free(&names);
			return false;
		}
		if (c->n < 1 || c->n > 2)
			return lerr(ld, c->loc, "a condition takes one or two arguments");
		ru->conds[i].kind = (enum cond_kind)k;
		if (k == COND_HASDIFF)
			ru->needs_diff = true;
		ru->conds[i].name = mc_intern(mc, c->name);
		ru->conds[i].nargs = c->n;
		for (int a = 0; a < c->n; a++) {
			ru->conds[i].args[a] = pattern(ld, c->kids[a]);
			if (!ru->conds[i].args[a])
				return false;
		}
	}
	/* the rule as written, for listings */
	size_t from = (size_t)r->kids[0]->loc.first, to = (size_t)r->loc.last;
	while (to > from && (ld->p->src[to - 1] == '\n' || ld->p->src[to - 1] == ' '))
		to--;
	char *text = mc_alloc(mc, to - from + 1);
	memcpy(text, ld->p->src + from, to - from);
	ru->text = text;
	ru->index = rs->n;
	rs->n++;
	return true;
}

bool rules_load_text(struct session *s, struct rules *rs, const char *file, const char *text,
		     size_t len, char **report)
{
	struct parse p;
	bool ok = parse_text(&p, s->mc, text, len, true);
	struct loader ld = {s, &p, file, {0}, 0, false};
	const char *section = NULL;
	for (int i = 0; ok && i < p.nitems; i++) {
		const struct syn *it = p.items[i];
		if (it->kind == SYN_SECTION) {
			int k;
			for (k = 0; known_sections[k]; k++)
				if (strcmp(known_sections[k], it->name) == 0)
					break;
			if (!known_sections[k]) {
				ok = lerr(&ld, it->loc,
					  "unknown section [%s]: use [simplify], [differential], "
					  "[gradient], [readoff] or [factor]",
					  it->name);
				break;
			}
			section = it->name;
			continue;
		}
		ok = add_rule(&ld, rs, it, section);
	}
	if (!ok) {
		char *buf = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&buf, &n);
		if (f) {
			loc_report(f, file, text, len, p.errloc, p.err ? p.err : "broken rule file");
			fclose(f);
		}
		if (!f || !buf) {
			free(buf);
			struct sbuf b = {0};
			sbuf_printf(&b, "matcalc: %s: error: %s\n", file,
				    p.err ? p.err : "broken rule file");
			buf = sbuf_take(&b);
		}
		*report = buf;
	}
	parse_free(&p);
	return ok;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a rule file whole, at most --max-input bytes of it (a 1 GB file or
 * /dev/zero stops at once): false with *report set when it cannot. */
static bool read_bounded(struct session *s, FILE *f, const char *path, struct sbuf *text,
			 char **report)
{
	size_t lim = s->mc->lim.bounds.input;
	struct stat st;
	bool too_big = lim && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
		       (unsigned long long)st.st_size > lim;
	char buf[8192];
	size_t k;
	while (!too_big && (k = fread(buf, 1, sizeof buf, f)) > 0) {
		sbuf_addn(text, buf, k);
		too_big = lim && text->len > lim;
	}
	struct sbuf b = {0};
	if (too_big)
		sbuf_printf(&b,
			    "matcalc: error: %s is larger than the input limit of %zu MB: "
			    "--max-input MB raises it\n",
			    path, lim >> 20);
	else if (ferror(f))
		sbuf_printf(&b, "matcalc: error: cannot read %s: %s\n", path, strerror(errno));
	if (!b.s)
		return true;
	*report = sbuf_take(&b);
	return false;
}

bool rules_load_dir(struct session *s, struct rules *rs, const char *dir, char **report)
{
	DIR *d = opendir(dir);
	if (!d) {
		struct sbuf b = {0};
		sbuf_printf(&b, "matcalc: error: cannot read the rules directory %s: %s\n", dir,
			    strerror(errno));
		*report = sbuf_take(&b);
		return false;
	}
	char **names = NULL;
	int n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 7 || strcmp(de->d_name + l - 6, ".rules") != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			names = mc_xrealloc(names, (size_t)cap * sizeof *names);
		}
		names[n++] = mc_xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof *names, cmp_names);
	bool ok = true;
	if (n == 0) {
		struct sbuf b = {0};
		sbuf_printf(&b, "matcalc: error: no *.rules files in %s\n", dir);
		*report = sbuf_take(&b);
		ok = false;
	}
	for (int i = 0; i < n && ok; i++) {
		struct sbuf path = {0};
		sbuf_printf(&path, "%s/%s", dir, names[i]);
		FILE *f = fopen(path.s, "rb");
		if (!f) {
			struct sbuf b = {0};
			sbuf_printf(&b, "matcalc: error: cannot read %s: %s\n", path.s,
				    strerror(errno));
			*report = sbuf_take(&b);
			ok = false;
		} else {
			struct sbuf text = {0};
			ok = read_bounded(s, f, path.s, &text, report);
			fclose(f);
			if (ok)
				ok = rules_load_text(s, rs, path.s, text.s ? text.s : "", text.len,
						     report);
			sbuf_free(&text);
		}
		sbuf_free(&path);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ok;
}

void rules_free_index(struct rules *rules)
{
	for (int i = 0; i < rules->nidx; i++) {
		for (int op = 0; op < OP_COUNT; op++)
			free(rules->idx[i].byop[op]);
		free(rules->idx[i].sections);
	}
	free(rules->idx);
	rules->idx = NULL;
	rules->nidx = 0;
}

void rules_free(struct rules *rs)
{
	rules_free_index(rs);
	free(rs->v);
	memset(rs, 0, sizeof *rs);
}

/* The rules directory of an uninstalled build is the source tree's; an
 * installed binary reads the data directory. */
static const char *default_rules_dir(void)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		if (strncmp(self, MATCALC_BUILD_ROOT, strlen(MATCALC_BUILD_ROOT)) == 0)
			return MATCALC_RULES_SOURCE;
		/* the installed program: the rules beside it, wherever it was installed */
		static _Thread_local char beside[4096 + sizeof MATCALC_RULES_FROM_BINDIR];
		char *slash = strrchr(self, '/');
		if (slash && MATCALC_RULES_FROM_BINDIR[0]) {
			slash[1] = '\0';
			snprintf(beside, sizeof beside, "%s%s", self, MATCALC_RULES_FROM_BINDIR);
			if (access(beside, R_OK) == 0)
				return beside;
		}
	}
	if (access(MATCALC_RULES_INSTALLED, R_OK) == 0)
		return MATCALC_RULES_INSTALLED;
	return MATCALC_RULES_SOURCE;
}

bool rules_load(struct session *s)
{
	if (s->rules)
		return true;
	if (s->rules_failed)
		return mc_fail(s->mc, MC_ERR_RULE, "the rule files could not be loaded");
	struct rules *rs = mc_xmalloc(sizeof *rs);
	memset(rs, 0, sizeof *rs);
	const char *dirs = s->rules_dir ? s->rules_dir : default_rules_dir();
	char *copy = mc_xstrdup(dirs);
	bool ok = true;
	/* every name in the list is a directory: an empty one (--rules '', --rules :,
	 * a::b) is a mistake, not "no rules" */
	for (char *d = copy, *next; d && ok; d = next) {
		next = strchr(d, ':');
		if (next)
			*next++ = '\0';
		if (!*d) {
			fprintf(s->err,
				"matcalc: error: the rules list '%s' has an empty directory name "
				"(directories are separated by ':')\n",
				dirs);
			ok = false;
			break;
		}
		char *report = NULL;
		ok = rules_load_dir(s, rs, d, &report);
		if (!ok) {
			fputs(report, s->err);
			free(report);
		}
	}
	if (ok && rs->n == 0) {
		fprintf(s->err, "matcalc: error: the rule files in '%s' hold no rules\n", dirs);
		ok = false;
	}
	free(copy);
	if (!ok) {
		rules_free(rs);
		free(rs);
		s->rules_failed = true;
		s->status = 2;
		return false;
	}
	s->rules = rs;
	return true;
}

void rules_unload(struct session *s)
{
	if (s->rules) {
		rules_free(s->rules);
		free(s->rules);
		s->rules = NULL;
	}
}
