// Giving back the dynamic loader's tables once the process has started.
//
// At start-up ld.so walks the executable's relocation table (.rela.dyn, about 115k entries for a
// statically linked Swift runtime) and its symbol tables once; the pages stay resident for the
// life of the process (about 4 MB, counted in every command's peak memory) although little of
// them is read again. They sit in the read-only segment, so dropping them loses nothing: a
// later lazy binding that needs a page faults it back in from the file.
#include <link.h>
#include <sys/mman.h>
#include <stdint.h>
#include <unistd.h>

// glibc declares these only with _GNU_SOURCE, which Swift's Glibc module is built without; the
// fields are the leading ones of glibc's struct dl_phdr_info, in its order.
struct cartae_phdr_info {
    ElfW(Addr) dlpi_addr;
    const char *dlpi_name;
    const ElfW(Phdr) *dlpi_phdr;
    ElfW(Half) dlpi_phnum;
};
int dl_iterate_phdr(int (*callback)(struct cartae_phdr_info *info, size_t size, void *data), void *data);

static inline uintptr_t cartae_dyn_address(uintptr_t value, uintptr_t base) {
    // glibc relocates these entries of a writable .dynamic in place; others hold link-time offsets.
    return value >= base ? value : value + base;
}

// Widens [*lowest, *highest) to take in [start, end); a table of unknown size (end 0) only moves
// the start.
static inline void cartae_span_add(uintptr_t *lowest, uintptr_t *highest, uintptr_t start, uintptr_t end) {
    if (!start) return;
    if (start < *lowest) *lowest = start;
    if (end > *highest) *highest = end;
}

// Called for the first object only (it returns 1): the executable.
static inline int cartae_release_loader_tables_of(struct cartae_phdr_info *info, size_t size, void *unused) {
    (void)size; (void)unused;
    uintptr_t base = info->dlpi_addr;
    const ElfW(Dyn) *dynamic = 0;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) dynamic = (const ElfW(Dyn) *)(base + info->dlpi_phdr[i].p_vaddr);
    if (!dynamic) return 1;
    // The tables and their sizes: relocations, PLT relocations, strings; the symbol table, its
    // hash and versions lie before them (their sizes are not in .dynamic).
    uintptr_t rela = 0, relaSize = 0, jmprel = 0, pltSize = 0, strtab = 0, strSize = 0, symtab = 0, hash = 0, versym = 0;
    for (const ElfW(Dyn) *entry = dynamic; entry->d_tag != DT_NULL; entry++) {
        switch (entry->d_tag) {
        case DT_RELA: rela = cartae_dyn_address(entry->d_un.d_ptr, base); break;
        case DT_RELASZ: relaSize = entry->d_un.d_val; break;
        case DT_JMPREL: jmprel = cartae_dyn_address(entry->d_un.d_ptr, base); break;
        case DT_PLTRELSZ: pltSize = entry->d_un.d_val; break;
        case DT_STRTAB: strtab = cartae_dyn_address(entry->d_un.d_ptr, base); break;
        case DT_STRSZ: strSize = entry->d_un.d_val; break;
        case DT_SYMTAB: symtab = cartae_dyn_address(entry->d_un.d_ptr, base); break;
        case DT_GNU_HASH: hash = cartae_dyn_address(entry->d_un.d_ptr, base); break;
        case DT_VERSYM: versym = cartae_dyn_address(entry->d_un.d_ptr, base); break;
        default: break;
        }
    }
    uintptr_t lowest = UINTPTR_MAX, highest = 0;
    cartae_span_add(&lowest, &highest, rela, rela + relaSize);
    cartae_span_add(&lowest, &highest, jmprel, jmprel + pltSize);
    cartae_span_add(&lowest, &highest, strtab, strtab + strSize);
    cartae_span_add(&lowest, &highest, symtab, 0);
    cartae_span_add(&lowest, &highest, hash, 0);
    cartae_span_add(&lowest, &highest, versym, 0);
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t from = (lowest + page - 1) & ~(page - 1), to = highest & ~(page - 1);
    if (lowest == UINTPTR_MAX || to <= from) return 1;
    // Only pages wholly inside a segment that is never written: a private writable page may hold
    // the loader's own changes, which MADV_DONTNEED would throw away.
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD || (segment->p_flags & PF_W)) continue;
        uintptr_t start = base + segment->p_vaddr, end = start + segment->p_filesz;
        if (from >= start && to <= end) madvise((void *)from, to - from, MADV_DONTNEED);
    }
    return 1;
}

static inline void cartae_release_loader_tables(void) {
    dl_iterate_phdr(cartae_release_loader_tables_of, 0);
}
