/* Python's small objects on transparent huge pages, for the engine's writer processes.

A shard's engine at size is millions of small objects (accounts, their balances, orders,
price levels, the dicts' entries) reached at random by each command. pymalloc takes the
memory for them in 1 MiB arenas, each an mmap of its own in 4 KiB pages, so nearly every
such reach also misses the TLB, and in a virtual machine each miss walks two page tables.
Linux backs a range with 2 MiB pages when the range asks for them (madvise MADV_HUGEPAGE;
the default "madvise" mode of transparent huge pages) and the page is first touched whole.

`install()` hands pymalloc its arenas two to a 2 MiB-aligned block advised MADV_HUGEPAGE:
the first touch of a block maps one huge page. pymalloc frees an arena as soon as it is
empty, and a writer's batches make and drop thousands of objects, so up to KEPT freed arenas
are kept for the next ones (a new block costs mmap and a 2 MiB page cleared; unmapping half
of one splits it); beyond them arenas are unmapped as before. Other sizes, and every
platform without MADV_HUGEPAGE, keep Python's own arena allocator. CPython itself advises its arenas
from 3.15 on (gh-144319); the engine runs 3.11. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <sys/mman.h>

#define BLOCK ((size_t)2 << 20)
#define KEPT 64

static PyObjectArenaAllocator system_arenas;
static int installed;

#ifdef MADV_HUGEPAGE
/* arenas free to hand out: freed ones, and the second of the latest block (pymalloc holds
the GIL) */
static void *kept[KEPT];
static int kept_count;

static void *
arena_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (size * 2 != BLOCK) {
        return system_arenas.alloc(system_arenas.ctx, size);
    }
    if (kept_count > 0) {
        return kept[--kept_count];
    }
    /* twice a block, to cut a block on a 2 MiB boundary out of it */
    char *raw = mmap(NULL, 2 * BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        return NULL;
    }
    char *block = (char *)(((uintptr_t)raw + BLOCK - 1) & ~(uintptr_t)(BLOCK - 1));
    if (block > raw) {
        munmap(raw, (size_t)(block - raw));
    }
    munmap(block + BLOCK, (size_t)(raw + 2 * BLOCK - (block + BLOCK)));
    madvise(block, BLOCK, MADV_HUGEPAGE);  /* a hint: refused, the pages stay small */
    kept[kept_count++] = block + size;
    return block;
}

static void
arena_free(void *ctx, void *arena, size_t size)
{
    (void)ctx;
    if (size * 2 == BLOCK && kept_count < KEPT) {
        kept[kept_count++] = arena;
        return;
    }
    system_arenas.free(system_arenas.ctx, arena, size);
}
#endif

static PyObject *
install(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
#ifdef MADV_HUGEPAGE
    if (!installed) {
        PyObjectArenaAllocator huge = {NULL, arena_alloc, arena_free};
        PyObject_GetArenaAllocator(&system_arenas);
        PyObject_SetArenaAllocator(&huge);
        installed = 1;
    }
#endif
    return PyBool_FromLong(installed);
}

static PyMethodDef methods[] = {
    {"install", install, METH_NOARGS,
     "Give pymalloc its arenas from 2 MiB blocks advised MADV_HUGEPAGE, from now on; "
     "whether it does (False where the platform has no such advice)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "engine.hugepages", NULL, -1, methods,
};

PyMODINIT_FUNC
PyInit_hugepages(void)
{
    return PyModule_Create(&module);
}
