/* fuzz_st.c — libFuzzer harness for the Structured Text compiler: bytes as a
 * source file through the lexer, parser, semantic analysis and code
 * generator; never a crash, a leak or a hang. A program that compiles is
 * disassembled and run for a few scans of every task with a small
 * instruction budget, restarted warm and cold, its retained bytes saved and
 * loaded, and its located variables and every variable of its program
 * instances looked up by name. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st/st.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_diags d;
    st_diags_init(&d);
    struct st_source src = {"fuzz.st", (const char *)data, size};
    struct st_image *img = st_compile(&src, 1, &d);
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        st_diags_print(&d, null);
        fclose(null);
    }
    if (img) {
        char *text = st_disasm(img);
        free(text);
        struct err e;
        struct st_vm *vm = st_vm_new(img, &e);
        if (vm) {
            struct st_fault f;
            uint64_t executed;
            for (int k = 0; k < 3; k++)
                for (size_t t = 0; t < st_image_ntasks(img); t++)
                    st_vm_run_task(vm, t, (vtime_t)k * 100 * VT_MS, 20000, &executed, &f);
            size_t n = st_vm_retain_size(vm);
            uint8_t *buf = malloc(n ? n : 1);
            if (buf) {
                st_vm_retain_save(vm, buf);
                st_vm_restart(vm, 0);
                st_vm_retain_load(vm, buf);
                free(buf);
            }
            for (size_t t = 0; t < st_image_ntasks(img); t++)
                st_vm_run_task(vm, t, VT_SEC, 20000, &executed, &f);
            st_vm_restart(vm, 1);
            for (size_t i = 0; i < st_image_nlocated(img); i++) {
                const struct st_located *l = st_image_located(img, i);
                struct st_ref r;
                if (st_vm_lookup(vm, l->name, &r, &e) == 0) {
                    st_vm_set_i(vm, &r, st_vm_get_i(vm, &r) + 1);
                    st_vm_set_f(vm, &r, st_vm_get_f(vm, &r) * 2);
                    char s[32];
                    st_vm_get_s(vm, &r, s, sizeof s);
                    st_vm_set_s(vm, &r, "fuzz");
                }
            }
            for (size_t t = 0; t < st_image_ntasks(img); t++)
                st_vm_run_task(vm, t, 2 * VT_SEC, 20000, &executed, &f);
            /* the lookup's own parser: the input's first line as a name */
            char name[64];
            size_t k = 0;
            while (k < size && k < sizeof name - 1 && data[k] != '\n')
                name[k] = (char)data[k], k++;
            name[k] = 0;
            struct st_ref r;
            if (st_vm_lookup(vm, name, &r, &e) == 0)
                (void)st_vm_get_i(vm, &r);
            st_vm_free(vm);
        }
        st_image_free(img);
    }
    st_diags_clear(&d);
    return 0;
}
