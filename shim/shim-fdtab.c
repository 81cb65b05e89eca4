/*
 * fd → emulated socket table. Lookups on non-emulated fds (every read/write/close of the
 * process passes here) are one atomic load; only emulated fds take the mutex, to pin the
 * entry with a reference while a call is in flight on another thread.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

struct fdtab {
  size_t len;
  _Atomic(struct emu_sock *) slot[];
};

static _Atomic(struct fdtab *) g_tab;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

void fdtab_lock(void) { pthread_mutex_lock(&g_mu); }
void fdtab_unlock(void) { pthread_mutex_unlock(&g_mu); }

int fdtab_peek(int fd) {
  struct fdtab *t = atomic_load_explicit(&g_tab, memory_order_acquire);
  if (t == NULL || fd < 0 || (size_t)fd >= t->len) return 0;
  return atomic_load_explicit(&t->slot[fd], memory_order_relaxed) != NULL;
}

struct emu_sock *fdtab_get(int fd) {
  if (!fdtab_peek(fd)) return NULL;
  pthread_mutex_lock(&g_mu);
  struct fdtab *t = atomic_load_explicit(&g_tab, memory_order_acquire);
  struct emu_sock *s = atomic_load_explicit(&t->slot[fd], memory_order_relaxed);
  if (s != NULL) atomic_fetch_add(&s->refs, 1);
  pthread_mutex_unlock(&g_mu);
  return s;
}

struct emu_sock *emu_get(int fd) {
  struct emu_sock *s = fdtab_get(fd);
  if (s != NULL && s->passthrough) {
    emu_put(s);
    return NULL;
  }
  return s;
}

void emu_put(struct emu_sock *s) {
  if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1) free(s);
}

/* Grows the table to hold fd. Old tables are never freed: a lock-free reader may still hold
 * one, and they are few (doubling). Called with g_mu held. Returns NULL on allocation failure. */
static struct fdtab *grow(size_t fd) {
  struct fdtab *t = atomic_load_explicit(&g_tab, memory_order_relaxed);
  if (t != NULL && fd < t->len) return t;
  size_t len = t != NULL ? t->len : 1024;
  while (len <= fd) len *= 2;
  struct fdtab *n = calloc(1, sizeof(*n) + len * sizeof(n->slot[0]));
  if (n == NULL) return NULL;
  n->len = len;
  if (t != NULL)
    for (size_t i = 0; i < t->len; i++)
      atomic_store_explicit(&n->slot[i], atomic_load_explicit(&t->slot[i], memory_order_relaxed),
                            memory_order_relaxed);
  atomic_store_explicit(&g_tab, n, memory_order_release);
  return n;
}

void fdtab_set(int fd, struct emu_sock *s) {
  if (fd < 0) return;
  if (s == NULL && !fdtab_peek(fd)) return;
  pthread_mutex_lock(&g_mu);
  struct fdtab *t = s != NULL ? grow((size_t)fd) : atomic_load_explicit(&g_tab, memory_order_relaxed);
  struct emu_sock *old = NULL;
  if (t != NULL && (size_t)fd < t->len) {
    if (s != NULL) atomic_fetch_add(&s->refs, 1);
    old = atomic_exchange_explicit(&t->slot[fd], s, memory_order_relaxed);
  }
  pthread_mutex_unlock(&g_mu);
  emu_put(old);
}

struct emu_sock *fdtab_take(int fd) {
  if (!fdtab_peek(fd)) return NULL;
  pthread_mutex_lock(&g_mu);
  struct fdtab *t = atomic_load_explicit(&g_tab, memory_order_relaxed);
  struct emu_sock *s = atomic_exchange_explicit(&t->slot[fd], NULL, memory_order_relaxed);
  pthread_mutex_unlock(&g_mu);
  return s;
}

void fdtab_clear_range(unsigned int lo, unsigned int hi) {
  pthread_mutex_lock(&g_mu);
  struct fdtab *t = atomic_load_explicit(&g_tab, memory_order_relaxed);
  if (t != NULL)
    for (size_t i = lo; i <= hi && i < t->len; i++)
      emu_put(atomic_exchange_explicit(&t->slot[i], NULL, memory_order_relaxed));
  pthread_mutex_unlock(&g_mu);
}
