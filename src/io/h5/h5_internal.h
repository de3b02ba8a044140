/*
 * h5_internal.h -- what the files of src/io/h5/ share (private to the folder).
 *
 * Reading goes through a cursor over a checked window of the file image:
 * every read past the window sets a sticky error flag and yields zeros, so a
 * parser reads a whole structure and checks the flag once at the end, which
 * keeps the bounds checks in one place instead of before every field.
 */
#ifndef CK_IO_H5_INTERNAL_H
#define CK_IO_H5_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "io/h5/h5.h"

#define H5R_UNDEF UINT64_MAX

/* Caps on what a file can make the reader do. */
enum {
    H5R_MAX_DEPTH = 64,             /* nested groups, B-tree levels, types   */
    H5R_MAX_CHUNKS = 4096,          /* object header continuation blocks     */
    H5R_MAX_MESSAGES = 1 << 20      /* messages in one object header         */
};
/* Every node, block and message parsed costs one unit; a file that needs
 * more than this is refused, so no input can make the reader spin. */
#define H5R_WORK_BUDGET ((uint64_t)1 << 26)
/* All the calls on one handle together (a Keras loader makes one per
 * layer and attribute) may spend this many units per byte of the file,
 * plus a floor, so that their total too follows the file's size: real
 * files need under 0.1 unit a byte (the 308 .h5 files of the test data,
 * ../shared and the real-model corpus), while a fuzzed 13 KB weights file
 * whose thousands of layer names each sent the loader through the same
 * large object header took 1.6 M units (118 a byte, 0.2 s; 7 s under
 * ASan). */
#define H5R_WORK_PER_BYTE 8
#define H5R_WORK_FLOOR ((uint64_t)1 << 17)
/* Largest single allocation the reader makes for data (issue 9: < 2 GB). */
#define H5R_MAX_ALLOC ((uint64_t)1 << 30)

struct ck_h5r {
    uint8_t *data;
    uint64_t size;
    char *name;
    uint64_t base;                  /* base address (signature position)     */
    int so, sl;                     /* size of offsets / lengths (2, 4, 8)   */
    int sb_version;
    /* Group leaf / internal node K of the superblock (libhdf5's 4 and 16
     * for superblocks 2 and 3): symbol table nodes and group B-tree nodes
     * are allocated and read whole at these sizes, so a file must hold
     * them whole even when fewer entries are used. */
    unsigned leaf_k, node_k;
    uint64_t root;                  /* absolute address of the root header   */
    uint64_t work;                  /* budget units used                     */
    uint64_t total_work;            /* units used by all calls on the handle
                                       (H5R_WORK_PER_BYTE)                 */
    int walking;                    /* inside ck_h5r_dump: one budget for all */
};

/* Every public entry starts a fresh budget, so that a long-lived handle can
 * make any number of calls; ck_h5r_dump spends one budget on the whole walk. */
static inline void h5r_begin(ck_h5r *f)
{
    if (!f->walking) f->work = 0;
}

/* A read window [pos, end) of the image. */
typedef struct h5r_cur {
    ck_h5r *f;
    uint64_t pos, end;
    int bad;                        /* set by any read past `end`            */
} h5r_cur;

/* Records a format error "<file>: <what> at offset N: <detail>". */
ck_status h5r_fail(const ck_h5r *f, uint64_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Charges `units` of work; CK_FORMAT_ERROR when the budget is spent. */
ck_status h5r_spend(ck_h5r *f, uint64_t units);

/* Absolute offset of a file address `addr` (relative to the base) after
 * checking that `need` bytes from there lie in the file.  `what` names the
 * structure in the error. */
ck_status h5r_locate(ck_h5r *f, uint64_t addr, uint64_t need, const char *what, uint64_t *abs);

/* A cursor over [abs, abs + len) (already checked by the caller: the window
 * is clipped to the file anyway). */
h5r_cur h5r_at(ck_h5r *f, uint64_t abs, uint64_t len);
/* A cursor at file address `addr` running to the end of the file, after
 * checking that at least `need` bytes exist there. */
ck_status h5r_open_at(ck_h5r *f, uint64_t addr, uint64_t need, const char *what, h5r_cur *c);

uint64_t h5r_uint(h5r_cur *c, int n);   /* little-endian, n = 0..8 bytes */
static inline uint8_t h5r_u8(h5r_cur *c) { return (uint8_t)h5r_uint(c, 1); }
static inline uint16_t h5r_u16(h5r_cur *c) { return (uint16_t)h5r_uint(c, 2); }
static inline uint32_t h5r_u32(h5r_cur *c) { return (uint32_t)h5r_uint(c, 4); }
/* An address field (size of offsets); all ones = H5R_UNDEF. */
uint64_t h5r_addr(h5r_cur *c);
/* A length field (size of lengths). */
uint64_t h5r_len(h5r_cur *c);
void h5r_skip(h5r_cur *c, uint64_t n);
/* Pointer to the next n bytes (NULL and bad set if they are not there). */
const uint8_t *h5r_bytes(h5r_cur *c, uint64_t n);
/* 1 if the next 4 bytes are `sig` (consumed), else 0. */
int h5r_sig(h5r_cur *c, const char sig[4]);
static inline uint64_t h5r_left(const h5r_cur *c) { return c->pos < c->end ? c->end - c->pos : 0; }

/* ---- checksums of version 2 structures (h5_checksum.c) -------------------- */

/* Jenkins' lookup3 hash (hashlittle), as libhdf5 checksums metadata. */
uint32_t h5r_lookup3(const uint8_t *data, size_t len, uint32_t initval);
/* The same with the 4 bytes at offset `hole` hashed as zeros: a fractal
 * heap direct block's checksum covers the whole block with its own
 * checksum field zeroed.  SIZE_MAX: no hole. */
uint32_t h5r_lookup3_hole(const uint8_t *data, size_t len, uint32_t initval, size_t hole);
/* Checks that the 4 bytes after [abs, abs + len) hold the lookup3 of those
 * bytes; else a format error "checksum mismatch in <what>". */
ck_status h5r_check_sum(ck_h5r *f, uint64_t abs, uint64_t len, const char *what);

/* Bytes needed for an unsigned value (at least 1), as HDF5 sizes fields. */
int h5r_bytes_for(uint64_t v);

/* ---- object headers (h5_object.c) ----------------------------------------- */

enum {
    H5R_MSG_DATASPACE = 0x01, H5R_MSG_LINFO = 0x02, H5R_MSG_DATATYPE = 0x03,
    H5R_MSG_FILL_OLD = 0x04, H5R_MSG_FILL = 0x05, H5R_MSG_LINK = 0x06,
    H5R_MSG_LAYOUT = 0x08, H5R_MSG_PIPELINE = 0x0B, H5R_MSG_ATTR = 0x0C,
    H5R_MSG_CONT = 0x10, H5R_MSG_STAB = 0x11, H5R_MSG_AINFO = 0x15
};

typedef struct h5r_msg {
    uint16_t type;
    uint8_t flags;
    uint64_t off;                   /* absolute offset of the message data   */
    uint64_t size;
} h5r_msg;

typedef struct h5r_obj {
    uint64_t addr;
    int version;
    h5r_msg *msgs;
    size_t n;
} h5r_obj;

/* Parses the object header at `addr` with all its continuation blocks. */
ck_status h5r_obj_read(ck_h5r *f, uint64_t addr, h5r_obj *o);
void h5r_obj_free(h5r_obj *o);
/* The first message of `type` (NULL if none).  A shared message (flag 2)
 * is refused by the parsers that use it. */
const h5r_msg *h5r_obj_find(const h5r_obj *o, uint16_t type);

/* ---- types (h5_type.c) ----------------------------------------------------- */

ck_status h5r_parse_type(ck_h5r *f, h5r_cur *c, ck_h5r_type *t);
ck_status h5r_parse_space(ck_h5r *f, h5r_cur *c, ck_h5r_space *s);
/* Reads element i of `raw` (elem_size bytes, the type's scalar) as an int64
 * or double; for INT and FLOAT scalars only. */
int64_t h5r_get_int(const uint8_t *p, uint32_t size, int be, int is_signed);
double h5r_get_float(const uint8_t *p, uint32_t size, int be);
/* The bytes of a variable-length string or sequence stored as a 16-byte
 * reference (length, global heap collection address, object index). */
ck_status h5r_vlen_bytes(ck_h5r *f, const uint8_t *ref, const uint8_t **data, uint64_t *len);

/* ---- heaps (h5_heap.c) ----------------------------------------------------- */

/* A fractal heap, opened once so that objects can be looked up by heap ID. */
typedef struct h5r_fheap {
    uint64_t addr;
    uint16_t id_len;
    uint16_t filter_len;
    uint32_t max_managed;
    uint16_t width;
    uint64_t start_block, max_direct;
    uint16_t max_heap_bits;
    uint16_t root_rows;
    int dblock_sums;                /* direct blocks carry a checksum        */
    uint64_t root;
    uint64_t huge_btree;
    int off_bytes, len_bytes;       /* heap ID field sizes                   */
    /* The direct blocks found by walking the heap: heap offset -> file. */
    struct h5r_dblock { uint64_t heap_off, abs, size; } *blocks;
    size_t n_blocks;
} h5r_fheap;

ck_status h5r_fheap_open(ck_h5r *f, uint64_t addr, h5r_fheap *h);
void h5r_fheap_close(h5r_fheap *h);
/* The object of a heap ID (managed or tiny; huge objects through the heap's
 * v2 B-tree).  *data points into the file image or, for tiny objects, into
 * `id` itself. */
ck_status h5r_fheap_get(ck_h5r *f, h5r_fheap *h, const uint8_t *id, const uint8_t **data,
                        uint64_t *len);

/* Calls `fn` on every record of the v2 B-tree at `addr` (of type `type`);
 * a non-OK status from fn stops the walk. */
typedef ck_status (*h5r_record_fn)(ck_h5r *f, const uint8_t *rec, uint16_t rec_size, void *ctx);
ck_status h5r_btree2_walk(ck_h5r *f, uint64_t addr, int type, h5r_record_fn fn, void *ctx);

/* ---- small shared helpers ---------------------------------------------------- */

/* A ck_malloc'ed NUL-terminated copy of n bytes. */
char *h5r_strndup(const uint8_t *s, size_t n);

/* Parses one attribute message at [abs, abs + len) of the image (compact
 * storage or an object of a dense-storage heap, which lies in the image
 * too).  Frees nothing on error; a->name is owned on success. */
ck_status h5r_attr_parse(ck_h5r *f, uint64_t abs, uint64_t len, ck_h5r_attr *a);
/* Parses one link message at [abs, abs + len). */
ck_status h5r_link_parse(ck_h5r *f, uint64_t abs, uint64_t len, ck_h5r_link *l);

#endif
