/* Why: a small Prometheus registry; see sg_metrics.h. Series are found by linear search: the
 * families here have a handful of label sets, and a search over a few strcmp is cheaper than a
 * hash at that size. */
#include "sg_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum metric_type { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

struct series {
    char *labels[SG_METRIC_MAX_LABELS];
    double value;             /* counter/gauge; histogram sum */
    unsigned long long count; /* histogram count */
    unsigned long long buckets[SG_METRIC_MAX_BUCKETS];
};

struct sg_metric {
    struct sg_metrics *reg;
    enum metric_type type;
    char *name;
    char *help;
    size_t nlabels;
    char *label_names[SG_METRIC_MAX_LABELS];
    double bounds[SG_METRIC_MAX_BUCKETS];
    size_t nbounds;
    struct series *series;
    size_t nseries, capseries;
    struct sg_metric *next;
};

struct sg_metrics {
    pthread_mutex_t lock;
    struct sg_metric *head, *tail;
};

struct sg_metrics *sg_metrics_new(void)
{
    struct sg_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

static void metric_free(struct sg_metric *f)
{
    for (size_t i = 0; i < f->nseries; i++)
        for (size_t j = 0; j < f->nlabels; j++)
            free(f->series[i].labels[j]);
    for (size_t j = 0; j < f->nlabels; j++)
        free(f->label_names[j]);
    free(f->series);
    free(f->name);
    free(f->help);
    free(f);
}

void sg_metrics_free(struct sg_metrics *m)
{
    if (!m)
        return;
    struct sg_metric *f = m->head;
    while (f) {
        struct sg_metric *n = f->next;
        metric_free(f);
        f = n;
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static struct sg_metric *family_new(struct sg_metrics *m, enum metric_type type, const char *name,
                                    const char *help, const char *label_names)
{
    struct sg_metric *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->reg = m;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (!f->name || !f->help)
        goto fail;
    if (label_names && *label_names) {
        const char *p = label_names;
        while (*p) {
            const char *c = strchr(p, ',');
            size_t len = c ? (size_t)(c - p) : strlen(p);
            if (f->nlabels == SG_METRIC_MAX_LABELS || len == 0)
                goto fail;
            f->label_names[f->nlabels] = strndup(p, len);
            if (!f->label_names[f->nlabels])
                goto fail;
            f->nlabels++;
            p += len;
            if (*p == ',')
                p++;
        }
    }
    pthread_mutex_lock(&m->lock);
    if (m->tail)
        m->tail->next = f;
    else
        m->head = f;
    m->tail = f;
    pthread_mutex_unlock(&m->lock);
    return f;
fail:
    metric_free(f);
    return NULL;
}

struct sg_metric *sg_metrics_counter(struct sg_metrics *m, const char *name, const char *help,
                                     const char *label_names)
{
    return family_new(m, MT_COUNTER, name, help, label_names);
}

struct sg_metric *sg_metrics_gauge(struct sg_metrics *m, const char *name, const char *help,
                                   const char *label_names)
{
    return family_new(m, MT_GAUGE, name, help, label_names);
}

struct sg_metric *sg_metrics_histogram(struct sg_metrics *m, const char *name, const char *help,
                                       const char *label_names, const double *buckets,
                                       size_t nbuckets)
{
    if (nbuckets > SG_METRIC_MAX_BUCKETS)
        return NULL;
    for (size_t i = 1; i < nbuckets; i++)
        if (!(buckets[i] > buckets[i - 1]))
            return NULL;
    struct sg_metric *f = family_new(m, MT_HISTOGRAM, name, help, label_names);
    if (!f)
        return NULL;
    memcpy(f->bounds, buckets, nbuckets * sizeof *buckets);
    f->nbounds = nbuckets;
    return f;
}

/* Finds or creates the series for labels; called with the lock held. NULL when the family is
 * full or out of memory (the sample is dropped rather than growing without bound). */
static struct series *series_get(struct sg_metric *f, const char *const *labels)
{
    for (size_t i = 0; i < f->nseries; i++) {
        size_t j = 0;
        for (; j < f->nlabels; j++)
            if (strcmp(f->series[i].labels[j], labels[j] ? labels[j] : "") != 0)
                break;
        if (j == f->nlabels)
            return &f->series[i];
    }
    if (f->nseries == SG_METRIC_MAX_SERIES)
        return NULL;
    if (f->nseries == f->capseries) {
        size_t ncap = f->capseries ? f->capseries * 2 : 4;
        struct series *n = realloc(f->series, ncap * sizeof *n);
        if (!n)
            return NULL;
        f->series = n;
        f->capseries = ncap;
    }
    struct series *s = &f->series[f->nseries];
    memset(s, 0, sizeof *s);
    for (size_t j = 0; j < f->nlabels; j++) {
        s->labels[j] = strdup(labels[j] ? labels[j] : "");
        if (!s->labels[j]) {
            while (j--)
                free(s->labels[j]);
            return NULL;
        }
    }
    f->nseries++;
    return s;
}

void sg_metric_add(struct sg_metric *c, const char *const *labels, double v)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->reg->lock);
    struct series *s = series_get(c, labels);
    if (s)
        s->value += v;
    pthread_mutex_unlock(&c->reg->lock);
}

void sg_metric_inc(struct sg_metric *c, const char *const *labels)
{
    sg_metric_add(c, labels, 1.0);
}

void sg_metric_set(struct sg_metric *g, const char *const *labels, double v)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->reg->lock);
    struct series *s = series_get(g, labels);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&g->reg->lock);
}

void sg_metric_observe(struct sg_metric *h, const char *const *labels, double v)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->reg->lock);
    struct series *s = series_get(h, labels);
    if (s) {
        s->value += v;
        s->count++;
        for (size_t i = 0; i < h->nbounds; i++)
            if (v <= h->bounds[i])
                s->buckets[i]++;
    }
    pthread_mutex_unlock(&h->reg->lock);
}

double sg_metric_value(struct sg_metric *c, const char *const *labels)
{
    if (!c)
        return 0;
    double v = 0;
    pthread_mutex_lock(&c->reg->lock);
    for (size_t i = 0; i < c->nseries; i++) {
        size_t j = 0;
        for (; j < c->nlabels; j++)
            if (strcmp(c->series[i].labels[j], labels[j] ? labels[j] : "") != 0)
                break;
        if (j == c->nlabels) {
            v = c->series[i].value;
            break;
        }
    }
    pthread_mutex_unlock(&c->reg->lock);
    return v;
}

static void put_double(struct sg_buf *b, double v)
{
    if (isinf(v))
        sg_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else if (isnan(v))
        sg_buf_puts(b, "NaN");
    else if (v == (double)(long long)v && fabs(v) < 1e15)
        sg_buf_put_i64(b, (long long)v);
    else {
        /* shortest text that reads back as the same double (0.005, not 0.0050000000000000001) */
        char tmp[40];
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
        sg_buf_puts(b, tmp);
    }
}

/* Label values escaped as the exposition format says: backslash, quote and newline. */
static void put_label_value(struct sg_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            sg_buf_puts(b, "\\\\");
        else if (*v == '"')
            sg_buf_puts(b, "\\\"");
        else if (*v == '\n')
            sg_buf_puts(b, "\\n");
        else
            sg_buf_putc(b, *v);
    }
}

static void put_labels(struct sg_buf *b, const struct sg_metric *f, const struct series *s,
                       const char *le)
{
    if (f->nlabels == 0 && !le)
        return;
    sg_buf_putc(b, '{');
    for (size_t j = 0; j < f->nlabels; j++) {
        if (j)
            sg_buf_putc(b, ',');
        sg_buf_puts(b, f->label_names[j]);
        sg_buf_puts(b, "=\"");
        put_label_value(b, s->labels[j]);
        sg_buf_putc(b, '"');
    }
    if (le) {
        if (f->nlabels)
            sg_buf_putc(b, ',');
        sg_buf_puts(b, "le=\"");
        sg_buf_puts(b, le);
        sg_buf_putc(b, '"');
    }
    sg_buf_putc(b, '}');
}

enum sg_err sg_metrics_render(struct sg_metrics *m, struct sg_buf *out)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&m->lock);
    for (struct sg_metric *f = m->head; f; f = f->next) {
        sg_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                      type_names[f->type]);
        if (f->type != MT_HISTOGRAM && f->nlabels == 0 && f->nseries == 0) {
            /* An unlabelled counter or gauge is always shown, 0 until first set. */
            sg_buf_printf(out, "%s 0\n", f->name);
            continue;
        }
        for (size_t i = 0; i < f->nseries; i++) {
            const struct series *s = &f->series[i];
            if (f->type != MT_HISTOGRAM) {
                sg_buf_puts(out, f->name);
                put_labels(out, f, s, NULL);
                sg_buf_putc(out, ' ');
                put_double(out, s->value);
                sg_buf_putc(out, '\n');
                continue;
            }
            for (size_t k = 0; k < f->nbounds; k++) {
                struct sg_buf le;
                sg_buf_init(&le, 64);
                put_double(&le, f->bounds[k]);
                sg_buf_printf(out, "%s_bucket", f->name);
                put_labels(out, f, s, sg_buf_str(&le));
                sg_buf_printf(out, " %llu\n", s->buckets[k]);
                sg_buf_free(&le);
            }
            sg_buf_printf(out, "%s_bucket", f->name);
            put_labels(out, f, s, "+Inf");
            sg_buf_printf(out, " %llu\n%s_sum", s->count, f->name);
            put_labels(out, f, s, NULL);
            sg_buf_putc(out, ' ');
            put_double(out, s->value);
            sg_buf_printf(out, "\n%s_count", f->name);
            put_labels(out, f, s, NULL);
            sg_buf_printf(out, " %llu\n", s->count);
        }
        if (f->type == MT_HISTOGRAM && f->nlabels == 0 && f->nseries == 0) {
            for (size_t k = 0; k < f->nbounds; k++) {
                sg_buf_printf(out, "%s_bucket{le=\"", f->name);
                put_double(out, f->bounds[k]);
                sg_buf_puts(out, "\"} 0\n");
            }
            sg_buf_printf(out, "%s_bucket{le=\"+Inf\"} 0\n%s_sum 0\n%s_count 0\n", f->name, f->name,
                          f->name);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return SG_OK;
}
