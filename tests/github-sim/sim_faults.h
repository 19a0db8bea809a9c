/* Why: failure on demand is what the simulator is for (README.md, "A fault"): a test posts
 * faults to /_sim/faults and the next matching requests get a 5xx, a rate limit, a wrong body, a
 * delay, a lost answer, or a tarball download that is cut short or trickles. This header is the
 * fault itself and the points where sim_http.c and sim_routes.c let one act on a request.
 *
 * Ownership: a matched fault is copied into the request (struct sim_rq.fault); the list and the
 * delayed requests are the module's until sim_faults_free(). */
#ifndef SIM_FAULTS_H
#define SIM_FAULTS_H

#include <stdbool.h>
#include <stddef.h>

struct sim_rq;

struct sim_fault {
    char method[16];
    char prefix[256];
    int status;
    int count;
    int retry_after;
    int reset_in;
    bool secondary;
    int delay_ms;
    size_t truncate_after;
    size_t bytes_per_s;
    bool foreign_link; /* pagination links name the other host (localhost <-> 127.0.0.1) */
    bool drop_answer;  /* the request is applied, then the connection closes without an answer */
    char body[512];    /* with status: this JSON body instead of the route's answer */
};

/* POST /_sim/faults: one fault object or an array of them, appended to the list. */
void sim_faults_add(struct sim_rq *r);
/* DELETE /_sim/faults. */
void sim_faults_clear(void);

/* Gives r the first fault whose method and path prefix match it, and uses up one of its count. */
void sim_faults_match(struct sim_rq *r);
/* true: r waits out its fault's delay_ms and is routed (sim_routes_api) after it. */
bool sim_faults_delay(struct sim_rq *r);
/* true: r's fault answered it instead of its route. Otherwise a fault's rate_limit_reset_in is
 * noted on r, for the headers of the route's normal answer. */
bool sim_faults_answer(struct sim_rq *r);
/* With a drop_answer fault, closes r's connection so that not one byte of the answer arrives. */
void sim_faults_drop_answer(struct sim_rq *r);

/* Frees the list and the requests still waiting out a delay (before the event base goes). */
void sim_faults_free(void);

#endif
