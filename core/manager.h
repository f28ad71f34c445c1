/* SPDX-License-Identifier: MIT */
/* The container manager: quiltd's registry of containers and the only
 * door from the API layer into the lifecycle.  It validates requests,
 * spawns a quilt-monitor per container, tracks state reported by the
 * monitors, and answers with protobuf messages.  Thread-safe: every
 * function may be called from any gRPC call thread. */
#ifndef QUILT_MANAGER_H
#define QUILT_MANAGER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "quilt.pb-c.h"
#include "status.h"

struct quilt_manager;
struct quilt_plugin_chain;
struct quilt_log_stream;

/* `cfg` and `plugins` (every configured plugin instance, loaded in
 * quiltd: their check_request hooks judge each CreateContainer; NULL:
 * none) must outlive the manager.  Creates STATE_DIR/containers. */
int quilt_manager_new(const struct quilt_config *cfg, const struct quilt_plugin_chain *plugins,
                      const char *config_path, struct quilt_manager **ret, struct quilt_status *st);
/* Stop every container (SIGKILL), wait for their monitors to finish
 * cleanup, then free.  NULL is fine. */
void quilt_manager_free(struct quilt_manager *m);

/* Validates synchronously; returns once the container is registered
 * (PENDING) and its monitor spawned.  *ret_id is malloc'd. */
int quilt_manager_create(struct quilt_manager *m, const Quilt__V1__CreateContainerRequest *req,
                         char **ret_id, struct quilt_status *st);

/* `ref` is a full id, a unique id prefix, or a name.  The response is
 * heap-allocated: free with quilt_status_response_free. */
int quilt_manager_status(struct quilt_manager *m, const char *ref,
                         Quilt__V1__ContainerStatusResponse **ret, struct quilt_status *st);
int quilt_manager_list(struct quilt_manager *m, Quilt__V1__ListContainersResponse **ret,
                       struct quilt_status *st);
/* SIGTERM, then SIGKILL to every process after timeout_seconds (0: the
 * configured default; negative: SIGKILL at once).  Returns when exited. */
int quilt_manager_stop(struct quilt_manager *m, const char *ref, int timeout_seconds,
                       Quilt__V1__ContainerStatusResponse **ret, struct quilt_status *st);
/* container_wait.c: block until the container is EXITED or FAILED (at
 * once when it is) and answer its status.  NOT_FOUND for an unknown ref;
 * DEADLINE_EXCEEDED after timeout_seconds (> 0; 0: no limit); CANCELLED
 * once cancelled(userdata) says so (asked about every 200 ms; NULL: never).
 * A container removed meanwhile was stopped first: the wait answers that
 * final status (it holds the record), never NOT_FOUND. */
int quilt_manager_wait_container(struct quilt_manager *m, const char *ref, int timeout_seconds,
                                 bool (*cancelled)(void *userdata), void *userdata,
                                 Quilt__V1__ContainerStatusResponse **ret, struct quilt_status *st);
/* StreamEvents: a subscription to the daemon's events (events.h) that
 * matches `filter`, replaying those held from since_ns on (0: only new
 * ones).  INVALID_ARGUMENT for a negative since_ns. */
struct quilt_event_filter;
struct quilt_event_sub;
int quilt_manager_subscribe_events(struct quilt_manager *m, const struct quilt_event_filter *filter,
                                   int64_t since_ns, struct quilt_event_sub **ret,
                                   struct quilt_status *st);
/* FAILED_PRECONDITION while running unless `force`.  *ret_id malloc'd. */
int quilt_manager_remove(struct quilt_manager *m, const char *ref, bool force, char **ret_id,
                         struct quilt_status *st);

/* Live figures of a running container (asked of its monitor), or the
 * last ones recorded for an ended one; -1 where nothing accounts them. */
int quilt_manager_stats(struct quilt_manager *m, const char *ref,
                        Quilt__V1__ContainerStatsResponse **ret, struct quilt_status *st);
/* New limits for a running container (fields at 0 stay). */
int quilt_manager_update(struct quilt_manager *m, const char *ref, const Quilt__V1__Resources *res,
                         Quilt__V1__ContainerStatusResponse **ret, struct quilt_status *st);

/* Images (images.c): the store STATE_DIR/images, tags in
 * STATE_DIR/images/tags.  Import unpacks `path` through the quilt-image
 * helper and (re)points `tag` at it; Remove takes a digest, a unique
 * prefix (>= 12 hex) or a tag and refuses (FAILED_PRECONDITION) while a
 * container uses the image.  *ret_digest malloc'd. */
int quilt_manager_import_image(struct quilt_manager *m, const char *path, const char *tag,
                               Quilt__V1__ImportImageResponse **ret, struct quilt_status *st);
int quilt_manager_list_images(struct quilt_manager *m, Quilt__V1__ListImagesResponse **ret,
                              struct quilt_status *st);
int quilt_manager_remove_image(struct quilt_manager *m, const char *ref, char **ret_digest,
                               struct quilt_status *st);
void quilt_import_image_response_free(Quilt__V1__ImportImageResponse *r);
void quilt_list_images_response_free(Quilt__V1__ListImagesResponse *r);
/* Pull `reference` (HOST[:PORT]/NAME[:TAG] or ...@sha256:HEX) from its
 * registry through the quilt-image helper; a tag reference, as given,
 * then names the image.  NOT_FOUND: the registry has no such image;
 * UNAVAILABLE: it could not be reached or answered an error. */
int quilt_manager_pull_image(struct quilt_manager *m, const char *reference,
                             Quilt__V1__PullImageResponse **ret, struct quilt_status *st);
void quilt_pull_image_response_free(Quilt__V1__PullImageResponse *r);

void quilt_status_response_free(Quilt__V1__ContainerStatusResponse *r);
void quilt_stats_response_free(Quilt__V1__ContainerStatsResponse *r);
void quilt_list_response_free(Quilt__V1__ListContainersResponse *r);

/* Logs: a reader over the container's log file. */
int quilt_manager_open_logs(struct quilt_manager *m, const char *ref, bool follow,
                            struct quilt_log_stream **ret, struct quilt_status *st);

struct quilt_log_chunk {
        int source;                             /* QUILT__V1__LOG_SOURCE__LOG_SOURCE_STDOUT / _STDERR */
        int64_t timestamp_ns;
        uint32_t setup_command;                 /* 1.. for setup command N's output, else 0 */
        const uint8_t *data;                    /* valid until the next call */
        size_t len;
};

/* 1: a chunk; 0: the end (not following, or the container has exited and
 * everything was read); -EAGAIN: nothing new within timeout_ms (follow
 * only; call again — lets the caller notice a cancelled call); other
 * negative errno: error. */
int quilt_log_stream_next(struct quilt_log_stream *s, struct quilt_log_chunk *ret, int timeout_ms);
void quilt_log_stream_free(struct quilt_log_stream *s);

#endif
