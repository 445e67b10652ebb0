/*
 * warmDir: directory readahead on threads of our own. A walk on a cold cache waits for the disk at
 * every directory; reading the next directories in parallel brings their blocks into the page cache
 * before the walk asks. Done with libuv's threadpool, every read also cost the JS thread a callback
 * and an array of names it threw away; here nothing comes back to JS at all.
 */
#include "strata.h"
#include "sys.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Reads in flight or queued at most; a full queue drops requests (readahead is only a hint). */
#define QUEUE_SIZE 64
/* Threads reading; enough to keep a disk's queue busy, few enough not to crowd 2 cores. */
#define THREADS 4

static struct {
  pthread_mutex_t lock;
  pthread_cond_t ready;
  char *paths[QUEUE_SIZE];
  unsigned head, count;
  bool started;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, false};

static void read_dir(const char *path) {
  char buf[32768] __attribute__((aligned(8)));
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  while (syscall(SYS_getdents64, fd, buf, sizeof buf) > 0) {
  }
  close(fd);
}

static void *worker(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&q.lock);
    while (q.count == 0) pthread_cond_wait(&q.ready, &q.lock);
    char *path = q.paths[q.head];
    q.head = (q.head + 1) % QUEUE_SIZE;
    q.count--;
    pthread_mutex_unlock(&q.lock);
    read_dir(path);
    free(path);
  }
  return NULL;
}

/* Starts the threads once; they live as long as the process. Called with q.lock held. */
static bool start_threads(void) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 128 * 1024);
  int started = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_t t;
    if (pthread_create(&t, &attr, worker, NULL) == 0) started++;
  }
  pthread_attr_destroy(&attr);
  q.started = started > 0;
  return q.started;
}

/* warmDir(path) → true when queued, false when the queue is full (the request is dropped). */
napi_value js_warm_dir(napi_env env, napi_callback_info info) {
  call_t c;
  bool queued = false;
  napi_value result = NULL;
  call_begin(&c, env, info);
  const char *path = arg_string(&c, 0, "path");
  if (c.failed) return call_end(&c, NULL);
  pthread_mutex_lock(&q.lock);
  if ((q.started || start_threads()) && q.count < QUEUE_SIZE) {
    char *copy = strdup(path);
    if (copy != NULL) {
      q.paths[(q.head + q.count) % QUEUE_SIZE] = copy;
      q.count++;
      queued = true;
      pthread_cond_signal(&q.ready);
    }
  }
  pthread_mutex_unlock(&q.lock);
  call_ok(&c, napi_get_boolean(env, queued, &result));
  return call_end(&c, result);
}
