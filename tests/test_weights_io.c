/* .weights files: our save/load (the hooks) round-trip every stored array
 * bit for bit, write the same bytes as libdarknet's own save_weights_upto,
 * and read every header variant (0.1.0 with a 4-byte seen, 0.2.0, AlexeyAB's 0.2.5
 * and 1.0.0 with an 8-byte seen, the transposed-connected flag major/minor > 1000) and
 * partial loads exactly as libdarknet's own load_weights_upto does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "test_stock.h"
#include "test_util.h"

/* conv+BN, conv without BN, batchnorm layer, connected+BN, connected */
static const char *io_cfg_text =
    "[net]\nbatch=1\nwidth=6\nheight=6\nchannels=3\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[convolutional]\nfilters=5\nsize=1\nstride=1\nactivation=linear\n\n"
    "[batchnorm]\n\n"
    "[connected]\noutput=7\nbatch_normalize=1\nactivation=leaky\n\n"
    "[connected]\noutput=3\nactivation=linear\n";
/* floats per layer in the file */
static const size_t layer_floats[] = {4 * 4 + 4 * 27, 5 + 5 * 4, 3 * 5, 7 * 4 + 7 * 180, 3 + 3 * 7};
#define N_LAYERS 5

static char *io_cfg(void) { return abc_test_write(abc_test_tmpdir(), "io.cfg", io_cfg_text); }

static char *tmp_path(const char *name)
{
    char *p;
    ck_assert(asprintf(&p, "%s/%s", abc_test_tmpdir(), name) > 0);
    return p;
}

static void assert_same(const network *a, const network *b, const char *what)
{
    char why[256];
    ck_assert_msg(abc_test_same_params(a, b, why, sizeof why), "%s: %s", what, why);
}

static network *ours_filled(const char *cfg, unsigned seed)
{
    network *n = parse_network_cfg((char *)cfg);
    abc_test_fill_params(n, seed);
    return n;
}

static network *stock_filled(const char *cfg, unsigned seed)
{
    network *n = abc_test_stock_parse(cfg);
    abc_test_fill_params(n, seed);
    return n;
}

START_TEST(round_trip_every_layer_kind)
{
    char *cfg = io_cfg(), *w = tmp_path("rt.weights");
    network *a = ours_filled(cfg, 1);
    ck_assert_int_eq(a->n, N_LAYERS);
    *a->seen = 0x100000005ULL; /* needs all 8 bytes */
    save_weights(a, w);

    size_t len;
    unsigned char *bytes = abc_test_read_file(w, &len);
    size_t floats = 0;
    for (int i = 0; i < N_LAYERS; ++i) floats += layer_floats[i];
    ck_assert_uint_eq(len, 20 + 4 * floats);
    int32_t hdr[3];
    uint64_t seen;
    memcpy(hdr, bytes, 12);
    memcpy(&seen, bytes + 12, 8);
    ck_assert(hdr[0] == 0 && hdr[1] == 2 && hdr[2] == 0);
    ck_assert_uint_eq(seen, 0x100000005ULL);
    free(bytes);

    network *b = ours_filled(cfg, 2);
    load_weights(b, w);
    assert_same(a, b, "our load of our save");
    ck_assert_uint_eq(*b->seen, 0x100000005ULL);

    network *c = stock_filled(cfg, 3);
    abc_test_stock_load(c, w, 0, c->n);
    assert_same(a, c, "stock load of our save");
    ck_assert_uint_eq(*c->seen, 0x100000005ULL);
    free_network(a); free_network(b); free_network(c);
    free(cfg); free(w);
}
END_TEST

START_TEST(our_file_is_the_stock_file)
{
    char *cfg = io_cfg(), *mine = tmp_path("ours.weights"), *theirs = tmp_path("stock.weights");
    network *a = ours_filled(cfg, 4);
    *a->seen = 77;
    for (int cutoff = 0; cutoff <= N_LAYERS + 1; ++cutoff) {
        save_weights_upto(a, mine, cutoff);
        abc_test_stock_save(a, theirs, cutoff);
        size_t na, nb;
        unsigned char *x = abc_test_read_file(mine, &na), *y = abc_test_read_file(theirs, &nb);
        ck_assert_msg(na == nb && !memcmp(x, y, na), "cutoff %d: our file (%zu bytes) != stock file (%zu bytes)",
                      cutoff, na, nb);
        size_t want = 20;
        for (int i = 0; i < cutoff && i < N_LAYERS; ++i) want += 4 * layer_floats[i];
        ck_assert_uint_eq(na, want);
        free(x); free(y);
    }
    free_network(a);
    free(cfg); free(mine); free(theirs);
}
END_TEST

/* Header variants, written by hand from a reference network. */
typedef struct {
    int major, minor, rev;
    int seen_bytes;  /* what darknet reads for this header */
    int transposed;  /* connected weights stored inputs x outputs */
} header_case;

static const header_case headers[] = {
    {0, 1, 0, 4, 0},    {0, 2, 0, 8, 0},    {1, 0, 0, 8, 0},    {0, 0, 0, 4, 0},    {0, 1, 5, 4, 0},
    {0, 1001, 0, 4, 1}, {1001, 0, 0, 4, 1}, {1000, 0, 0, 4, 0}, {0, 1000, 0, 4, 0}, {2, 7, 3, 8, 0},
    {0, 2, 5, 8, 0} /* AlexeyAB's */, {9999, 9999, 9999, 4, 1} /* the largest numbers taken */,
};
#define N_HEADERS (int)(sizeof headers / sizeof headers[0])

static void write_by_hand(const char *path, const network *ref, const header_case *h, uint64_t seen)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    int32_t hdr[3] = {h->major, h->minor, h->rev};
    fwrite(hdr, 4, 3, fp);
    if (h->seen_bytes == 8) fwrite(&seen, 8, 1, fp);
    else { uint32_t s32 = (uint32_t)seen; fwrite(&s32, 4, 1, fp); }
    for (int i = 0; i < ref->n; ++i) {
        const layer *l = &ref->layers[i];
        abc_test_param p[64];
        int k = abc_test_layer_params(l, p, 64);
        for (int j = 0; j < k; ++j) {
            if (h->transposed && l->type == CONNECTED && p[j].kind == 'w') {
                for (int in = 0; in < l->inputs; ++in)
                    for (int o = 0; o < l->outputs; ++o) fwrite(&p[j].p[(size_t)o * l->inputs + in], 4, 1, fp);
            } else {
                fwrite(p[j].p, 4, p[j].n, fp);
            }
        }
    }
    ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(header_variants_load_like_stock)
{
    const header_case *h = &headers[_i];
    char *cfg = io_cfg(), *w = tmp_path("hdr.weights");
    network *ref = ours_filled(cfg, 10 + (unsigned)_i);
    uint64_t seen = h->seen_bytes == 8 ? 0x200000003ULL : 123456;
    write_by_hand(w, ref, h, seen);

    network *ours = ours_filled(cfg, 99);
    load_weights(ours, w);
    assert_same(ref, ours, "ours");
    ck_assert_uint_eq(*ours->seen, seen);

    network *stock = stock_filled(cfg, 99);
    abc_test_stock_load(stock, w, 0, stock->n);
    assert_same(ref, stock, "stock");
    ck_assert_uint_eq(*stock->seen, seen);
    free_network(ref); free_network(ours); free_network(stock);
    free(cfg); free(w);
}
END_TEST

START_TEST(transposed_connected_is_really_transposed)
{
    /* The flag matters: the same file read without it gives other weights. */
    char *cfg = io_cfg(), *w = tmp_path("tr.weights");
    network *ref = ours_filled(cfg, 5);
    write_by_hand(w, ref, &headers[5] /* 0.1001.0 */, 9);
    FILE *fp = fopen(w, "r+b");
    int32_t minor = 1;
    fseek(fp, 4, SEEK_SET);
    fwrite(&minor, 4, 1, fp); /* now 0.1.0: no transpose */
    fclose(fp);
    network *ours = ours_filled(cfg, 99);
    load_weights(ours, w);
    const layer *a = &ref->layers[3], *b = &ours->layers[3];
    ck_assert(memcmp(a->weights, b->weights, sizeof(float) * a->inputs * a->outputs) != 0);
    ck_assert(memcmp(a->biases, b->biases, sizeof(float) * a->outputs) == 0);
    ck_assert_float_eq(b->weights[1], a->weights[a->inputs]); /* file[0][1] = W[1][0] */
    free_network(ref); free_network(ours);
    free(cfg); free(w);
}
END_TEST

START_TEST(cutoff_loads_a_prefix_like_stock)
{
    char *cfg = io_cfg(), *w = tmp_path("full.weights");
    network *a = ours_filled(cfg, 20);
    save_weights(a, w);
    for (int cutoff = 0; cutoff <= N_LAYERS; ++cutoff) {
        network *ours = ours_filled(cfg, 21), *stock = stock_filled(cfg, 21), *untouched = ours_filled(cfg, 21);
        load_weights_upto(ours, w, 0, cutoff);
        abc_test_stock_load(stock, w, 0, cutoff);
        assert_same(ours, stock, "cutoff: ours vs stock");
        for (int i = 0; i < N_LAYERS; ++i) {
            abc_test_param p[8], q[8], u[8];
            int k = abc_test_layer_params(&ours->layers[i], p, 8);
            abc_test_layer_params(&a->layers[i], q, 8);
            abc_test_layer_params(&untouched->layers[i], u, 8);
            for (int j = 0; j < k; ++j)
                ck_assert_msg(!memcmp(p[j].p, i < cutoff ? q[j].p : u[j].p, p[j].n * sizeof(float)),
                              "cutoff %d layer %d array %d: should be %s", cutoff, i, j,
                              i < cutoff ? "from the file" : "untouched");
        }
        free_network(ours); free_network(stock); free_network(untouched);
    }
    free_network(a);
    free(cfg); free(w);
}
END_TEST

START_TEST(prefix_file_loads_like_stock)
{
    /* A file saved with a cutoff (a pretrained prefix) into the full cfg. */
    char *cfg = io_cfg(), *w = tmp_path("prefix.weights");
    network *a = ours_filled(cfg, 30);
    save_weights_upto(a, w, 2);
    network *ours = ours_filled(cfg, 31), *stock = stock_filled(cfg, 31);
    load_weights(ours, w);
    abc_test_stock_load(stock, w, 0, stock->n);
    assert_same(ours, stock, "prefix: ours vs stock");
    ck_assert(!memcmp(ours->layers[1].weights, a->layers[1].weights, sizeof(float) * a->layers[1].nweights));
    ck_assert(memcmp(ours->layers[4].weights, a->layers[4].weights, sizeof(float) * 21) != 0);
    free_network(a); free_network(ours); free_network(stock);
    free(cfg); free(w);
}
END_TEST

static Suite *suite_weights_io(void)
{
    Suite *s = suite_create("weights_io");
    TCase *tc = tcase_create("io");
    tcase_add_test(tc, round_trip_every_layer_kind);
    tcase_add_test(tc, our_file_is_the_stock_file);
    tcase_add_loop_test(tc, header_variants_load_like_stock, 0, N_HEADERS);
    tcase_add_test(tc, transposed_connected_is_really_transposed);
    tcase_add_test(tc, cutoff_loads_a_prefix_like_stock);
    tcase_add_test(tc, prefix_file_loads_like_stock);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_weights_io)
