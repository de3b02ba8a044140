/* The libhdf5 dataset reader the library used before its own (src/io/h5/),
 * kept as the oracle that tests/io/test_h5_reader_libhdf5.c compares with:
 * the same dtype conversions through H5Dread. */
#include <stdio.h>
#include <string.h>

#include "support/h5_oracle.h"

/* How a file element type maps onto a ck dtype. */
typedef struct elem_plan {
    ck_dtype dtype;
    hid_t mem;          /* memory type to read with (owned if own_mem)      */
    int own_mem;
    int enum_size;      /* > 0: read raw enum values of this size, widen    */
    int enum_signed;
} elem_plan;

static ck_status plan_element(hid_t ftype, const char *file, const char *where, elem_plan *p)
{
    memset(p, 0, sizeof *p);
    p->mem = -1;
    H5T_class_t cls = H5Tget_class(ftype);
    size_t size = H5Tget_size(ftype);
    if (cls == H5T_FLOAT) {
        if (size <= 4) {
            p->dtype = CK_FLOAT32;
            p->mem = H5T_NATIVE_FLOAT;
        } else {
            p->dtype = CK_FLOAT64;
            p->mem = H5T_NATIVE_DOUBLE;
        }
        return CK_OK;
    }
    if (cls == H5T_INTEGER) {
        int is_signed = H5Tget_sign(ftype) == H5T_SGN_2;
        if (size > 8)
            return ck_error(CK_FORMAT_ERROR, "%s: %s has %zu-byte integers; not supported", file,
                            where, size);
        if (size <= 2 || (size == 4 && is_signed)) {
            p->dtype = CK_INT32;
            p->mem = H5T_NATIVE_INT32;
        } else {
            p->dtype = CK_INT64;
            p->mem = H5T_NATIVE_INT64;
        }
        return CK_OK;
    }
    if (cls == H5T_ENUM) {
        /* h5py stores numpy bool as an int8 enum {FALSE, TRUE}; libhdf5 does
         * not convert enums to integers, so read the raw values. */
        hid_t base = H5Tget_super(ftype);
        if (base < 0) return ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read the type of %s", where);
        int ok = H5Tget_class(base) == H5T_INTEGER && H5Tget_size(base) <= 8;
        int is_signed = H5Tget_sign(base) == H5T_SGN_2;
        size_t bsize = H5Tget_size(base);
        H5Tclose(base);
        if (!ok)
            return ck_error(CK_FORMAT_ERROR, "%s: %s is an enum of a non-integer type", file, where);
        hid_t mem = H5Tget_native_type(ftype, H5T_DIR_DEFAULT);
        if (mem < 0) return ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read the type of %s", where);
        p->mem = mem;
        p->own_mem = 1;
        p->enum_size = (int)bsize;
        p->enum_signed = is_signed;
        p->dtype = (bsize <= 2 || (bsize == 4 && is_signed)) ? CK_INT32 : CK_INT64;
        return CK_OK;
    }
    return ck_error(CK_FORMAT_ERROR,
                    "%s: %s has elements of HDF5 type class %s; expected float or integer", file,
                    where, ck_h5o_type_class_name(cls));
}

static int64_t raw_int(const unsigned char *p, int size, int is_signed)
{
    switch (size) {
    case 1: { int8_t s; uint8_t u; memcpy(&s, p, 1); memcpy(&u, p, 1); return is_signed ? s : u; }
    case 2: { int16_t s; uint16_t u; memcpy(&s, p, 2); memcpy(&u, p, 2); return is_signed ? s : u; }
    case 4: { int32_t s; uint32_t u; memcpy(&s, p, 4); memcpy(&u, p, 4); return is_signed ? (int64_t)s : (int64_t)u; }
    default: {
        int64_t s; uint64_t u;
        memcpy(&s, p, 8);
        memcpy(&u, p, 8);
        return is_signed ? s : (u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u);
    }
    }
}

static ck_status read_enum_values(hid_t did, const elem_plan *p, ck_tensor *t, const char *file,
                                  const char *where)
{
    size_t bytes = (size_t)t->size * (size_t)p->enum_size;
    unsigned char *raw = ck_malloc(bytes ? bytes : 1);
    if (!raw) return ck_oom("an enum dataset");
    if (H5Dread(did, p->mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        ck_free(raw);
        return ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read %s", where);
    }
    for (int64_t i = 0; i < t->size; i++) {
        int64_t v = raw_int(raw + (size_t)i * (size_t)p->enum_size, p->enum_size, p->enum_signed);
        if (t->dtype == CK_INT32) ((int32_t *)t->data)[i] = (int32_t)v;
        else ((int64_t *)t->data)[i] = v;
    }
    ck_free(raw);
    return CK_OK;
}


ck_status ck_h5o_read_dataset(hid_t loc, const char *name, const char *file, const char *where,
                              hsize_t file_size, ck_tensor **out)
{
    hid_t did = H5Dopen2(loc, name, H5P_DEFAULT);
    if (did < 0) return ck_h5o_fail(CK_FORMAT_ERROR, file, "%s is missing or not a dataset", where);
    hid_t ftype = H5Dget_type(did), space = H5Dget_space(did);
    elem_plan plan = {0};
    plan.mem = -1;
    ck_tensor *t = NULL;
    ck_status st = CK_OK;
    if (ftype < 0 || space < 0) {
        st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read the type of %s", where);
        goto done;
    }
    int rank = 0;
    int64_t shape[CK_MAX_RANK] = {0};
    H5S_class_t scls = H5Sget_simple_extent_type(space);
    if (scls == H5S_SIMPLE) {
        int r = H5Sget_simple_extent_ndims(space);
        if (r < 0) {
            st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read the shape of %s", where);
            goto done;
        }
        if (r > CK_MAX_RANK) {
            st = ck_error(CK_FORMAT_ERROR, "%s: %s has rank %d; at most %d is supported", file,
                          where, r, CK_MAX_RANK);
            goto done;
        }
        hsize_t dims[CK_MAX_RANK];
        if (H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
            st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read the shape of %s", where);
            goto done;
        }
        rank = r;
        for (int i = 0; i < r; i++) {
            if (dims[i] > (hsize_t)INT64_MAX) {
                st = ck_error(CK_FORMAT_ERROR, "%s: %s has a dim too large", file, where);
                goto done;
            }
            shape[i] = (int64_t)dims[i];
        }
    } else if (scls != H5S_SCALAR) {
        st = ck_error(CK_FORMAT_ERROR, "%s: %s has no dataspace (a null dataset)", file, where);
        goto done;
    }
    st = plan_element(ftype, file, where, &plan);
    if (st != CK_OK) goto done;
    int64_t count = 0;
    if (ck_shape_count(plan.dtype, rank, shape, &count) != CK_OK) {
        char s[160];
        st = ck_error(CK_FORMAT_ERROR, "%s: %s has an impossible shape %s", file, where,
                      ck_shape_str(s, sizeof s, rank, shape));
        goto done;
    }
    st = ck_h5o_check_storage(did, count, file, where, file_size, 0);
    if (st != CK_OK) goto done;
    st = ck_tensor_new_uninit(&t, plan.dtype, rank, shape);
    if (st != CK_OK) goto done;
    if (count > 0) {
        if (plan.enum_size) {
            st = read_enum_values(did, &plan, t, file, where);
        } else if (H5Dread(did, plan.mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) < 0) {
            st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read %s", where);
        }
    }
done:
    if (plan.own_mem) ck_h5o_close(plan.mem);
    ck_h5o_close(space);
    ck_h5o_close(ftype);
    H5Dclose(did);
    if (st != CK_OK) {
        ck_tensor_free(t);
        return st;
    }
    *out = t;
    return CK_OK;
}

