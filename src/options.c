/* options.c - the one table of options: the command line's, the REPL's switches, the API's.
 *
 * To add an option, add one row to option_table below (and a session field
 * it sets; a switch that sets more than one field has a setter and no arg): the command line (src/main.c), the REPL and matcalc_set_option
 * all read this table, and --help lists it in this order. */
#include "options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

struct option {
	const char *name; /* as on the command line: "--latex", "--emit=numpy" */
	const char *arg;  /* the value's name in --help ("N"); NULL for a switch */
	const char *help; /* --help text; '\n' starts an indented continuation line */
	/* a switch: where its flag lives */
	bool *(*flag)(struct session *s);
	/* an option with a value: sets it (false with the reason in msg), shows it */
	bool (*set)(struct session *s, const char *value, struct sbuf *msg);
	void (*get)(struct session *s, struct sbuf *out);
};

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

static bool *flag_latex(struct session *s) { return &s->latex; }
static bool *flag_ascii(struct session *s) { return &s->mc->ascii; }
static bool *flag_pretty(struct session *s) { return &s->pretty; }
static bool *flag_emit_numpy(struct session *s) { return &s->emit_numpy; }
static bool *flag_emit_c(struct session *s) { return &s->emit_c; }
static bool *flag_hide_answer(struct session *s) { return &s->hide_answer; }

/* --steps and --steps=all: one derivation switch, two forms of it */
static bool switch_value(const char *name, const char *value, bool *on, struct sbuf *msg)
{
	*on = !value || strcmp(value, "on") == 0;
	if (*on || strcmp(value, "off") == 0)
		return true;
	sbuf_printf(msg, "%s takes on or off, not '%s'", name, value);
	return false;
}

static bool set_steps(struct session *s, const char *value, struct sbuf *msg)
{
	bool on;
	if (!switch_value("--steps", value, &on, msg))
		return false;
	s->steps = on;
	s->steps_all = false;
	return true;
}

static void get_steps(struct session *s, struct sbuf *out)
{
	sbuf_add(out, s->steps ? "on" : "off");
}

static bool set_steps_all(struct session *s, const char *value, struct sbuf *msg)
{
	bool on;
	if (!switch_value("--steps=all", value, &on, msg))
		return false;
	s->steps = s->steps_all = on;
	return true;
}

static void get_steps_all(struct session *s, struct sbuf *out)
{
	sbuf_add(out, s->steps && s->steps_all ? "on" : "off");
}

static bool set_precision(struct session *s, const char *value, struct sbuf *msg)
{
	long v;
	if (!parse_long(value, 1, 17, &v)) {
		sbuf_add(msg, "--precision takes 1 to 17 digits");
		return false;
	}
	s->mc->precision = (int)v;
	s->mc->exact_errors = true;
	return true;
}

static void get_precision(struct session *s, struct sbuf *out)
{
	sbuf_printf(out, "%d", s->mc->precision);
}

static bool set_seed(struct session *s, const char *value, struct sbuf *msg)
{
	long v;
	if (!parse_long(value, 0, 0x7fffffffL, &v)) {
		sbuf_add(msg, "--seed takes a whole number");
		return false;
	}
	value_seed(s, (unsigned long)v);
	return true;
}

static void get_seed(struct session *s, struct sbuf *out) { sbuf_printf(out, "%lu", s->seed); }

static bool set_rules(struct session *s, const char *value, struct sbuf *msg)
{
	(void)msg;
	s->rules_dir = mc_strdup(s->mc, value);
	return true;
}

static void get_rules(struct session *s, struct sbuf *out)
{
	sbuf_add(out, s->rules_dir ? s->rules_dir : "");
}

/* the limits of a statement (src/limit.c) */
static bool set_limit(struct session *s, int opt, const char *value, struct sbuf *msg)
{
	if (limit_set(&s->mc->lim.bounds, opt, value))
		return true;
	sbuf_printf(msg, "%s takes %s", limit_options[opt].name, limit_options[opt].takes);
	return false;
}

#define LIMIT_ROW(fn, opt)                                                                         \
	static bool set_##fn(struct session *s, const char *value, struct sbuf *msg)               \
	{                                                                                          \
		return set_limit(s, opt, value, msg);                                              \
	}                                                                                          \
	static void get_##fn(struct session *s, struct sbuf *out)                                  \
	{                                                                                          \
		char buf[64];                                                                      \
		limit_get(&s->mc->lim.bounds, opt, buf, sizeof buf);                               \
		sbuf_add(out, buf);                                                                \
	}
LIMIT_ROW(timeout, LIMIT_TIMEOUT)
LIMIT_ROW(max_memory, LIMIT_MEMORY)
LIMIT_ROW(max_terms, LIMIT_TERMS)
LIMIT_ROW(max_input, LIMIT_INPUT)
LIMIT_ROW(max_steps, LIMIT_STEPS)
static bool set_format(struct session *s, const char *value, struct sbuf *msg)
{
	if (strcmp(value, "json") != 0 && strcmp(value, "plain") != 0) {
		sbuf_add(msg, "--format takes plain or json");
		return false;
	}
	s->format_json = value[0] == 'j';
	return true;
}

static void get_format(struct session *s, struct sbuf *out)
{
	sbuf_add(out, s->format_json ? "json" : "plain");
}

static bool set_gradescope(struct session *s, const char *value, struct sbuf *msg)
{
	(void)msg;
	s->gradescope_dir = mc_strdup(s->mc, value);
	return true;
}

static void get_gradescope(struct session *s, struct sbuf *out)
{
	sbuf_add(out, s->gradescope_dir ? s->gradescope_dir : "");
}

static bool set_derivation(struct session *s, const char *value, struct sbuf *msg)
{
	(void)msg;
	s->derivation = mc_strdup(s->mc, value);
	return true;
}

static void get_derivation(struct session *s, struct sbuf *out)
{
	sbuf_add(out, s->derivation ? s->derivation : "");
}

/* The table. Keep the order of --help. */
static const struct option option_table[] = {
    {"--latex", NULL, "print results as LaTeX", flag_latex, NULL, NULL},
    {"--ascii", NULL, "print Greek letters as ASCII names (Theta)", flag_ascii, NULL, NULL},
    {"--steps", NULL,
     "print the derivation as a textbook writes it, each line\nwith the citations of the rules it used",
     NULL, set_steps, get_steps},
    {"--steps=all", NULL, "print the derivation one line per rule applied", NULL, set_steps_all,
     get_steps_all},
    {"--pretty", NULL, "print with Unicode: Xᵀ, X⁻¹, ‖x‖² (it parses back)", flag_pretty, NULL,
     NULL},
    {"--emit=numpy", NULL, "print a Python module computing value and gradient",
     flag_emit_numpy, NULL, NULL},
    {"--emit=c", NULL, "print a C function computing value and gradient", flag_emit_c, NULL,
     NULL},
    {"--precision", "N", "significant digits of printed numbers (default 6)", NULL,
     set_precision, get_precision},
    {"--seed", "N", "seed of rand, randn and check's random instances", NULL, set_seed,
     get_seed},
    {"--rules", "DIR",
     "read the rule files from DIR (default: installed rules;\nenvironment MATCALC_RULES)", NULL,
     set_rules, get_rules},
    {"--hide-answer", NULL, "never print the correct answer of a failed check", flag_hide_answer,
     NULL, NULL},
    /* limits of one statement: each, when hit, is an error naming its option */
    {"--timeout", "S", "seconds one statement may run (default 60; 0: none)", NULL, set_timeout,
     get_timeout},
    {"--max-memory", "MB", "memory for expression nodes and values (default 2048)", NULL,
     set_max_memory, get_max_memory},
    {"--max-terms", "N", "operands of one sum or product (default 20000)", NULL, set_max_terms,
     get_max_terms},
    {"--max-input", "MB", "size of one statement or rule file (default 16)", NULL,
     set_max_input, get_max_input},
    {"--max-steps", "N", "rule applications in one rewriting phase (default 20000)", NULL,
     set_max_steps, get_max_steps},
    {"--format", "FORM", "plain (default) or json: one JSON object per statement\n(docs/json.md)",
     NULL, set_format, get_format},
    {"--check-derivation", "FILE",
     "check a derivation (LaTeX align blocks or = lines) step by\nstep", NULL, set_derivation,
     get_derivation},
    {"--gradescope", "DIR", "grade: write Gradescope's results.json into DIR", NULL,
     set_gradescope, get_gradescope},
};
#define NOPTIONS (sizeof option_table / sizeof *option_table)

/* The row of name; *value is set to what follows '=' in "--name=value". */
static const struct option *find(const char *name, const char **value)
{
	*value = NULL;
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strcmp(option_table[i].name, name) == 0)
			return &option_table[i];
	const char *eq = strchr(name, '=');
	if (!eq)
		return NULL;
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option *o = &option_table[i];
		if (o->arg && strlen(o->name) == (size_t)(eq - name) &&
		    strncmp(o->name, name, (size_t)(eq - name)) == 0) {
			*value = eq + 1;
			return o;
		}
	}
	return NULL;
}

int options_arity(const char *name)
{
	const char *v;
	const struct option *o = find(name, &v);
	return o ? o->arg != NULL : -1;
}

bool options_set(struct session *s, const char *name, const char *value, struct sbuf *msg)
{
	const char *inline_value;
	const struct option *o = find(name, &inline_value);
	if (!o) {
		sbuf_printf(msg, "unknown option '%s'", name);
		return false;
	}
	if (inline_value)
		value = inline_value;
	if (o->flag) {
		bool on = !value || strcmp(value, "on") == 0;
		if (!on && strcmp(value, "off") != 0) {
			sbuf_printf(msg, "%s takes on or off, not '%s'", o->name, value);
			return false;
		}
		*o->flag(s) = on;
		return true;
	}
	if (!value && o->arg) { /* a switch with a setter of its own gets NULL */
		sbuf_printf(msg, "%s needs a value", o->name);
		return false;
	}
	return o->set(s, value, msg);
}

bool options_get(struct session *s, const char *name, struct sbuf *out)
{
	const char *v;
	const struct option *o = find(name, &v);
	if (!o || v)
		return false;
	if (o->flag)
		sbuf_add(out, *o->flag(s) ? "on" : "off");
	else
		o->get(s, out);
	return true;
}

void options_copy(struct session *to, struct session *from)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		struct sbuf v = {0}, msg = {0};
		if (options_get(from, option_table[i].name, &v))
			options_set(to, option_table[i].name, v.s ? v.s : "", &msg);
		sbuf_free(&v);
		sbuf_free(&msg);
	}
	/* no --rules reads as "" but means the default directory, not an empty list */
	to->rules_dir = from->rules_dir ? mc_strdup(to->mc, from->rules_dir) : NULL;
}

void options_help(struct sbuf *out)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option *o = &option_table[i];
		char left[64];
		snprintf(left, sizeof left, "%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		sbuf_printf(out, "  %-16s ", left);
		for (const char *h = o->help; *h; h++) {
			sbuf_addn(out, h, 1);
			if (*h == '\n')
				sbuf_add(out, "                   ");
		}
		sbuf_add(out, "\n");
	}
}
