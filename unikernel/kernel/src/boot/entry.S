/* PVH entry: the loader jumps here in 32-bit protected mode, paging off,
 * flat segments, ebx = physical address of hvm_start_info.  We record the
 * TSC first (boot time is measured from here), clear .bss, load the
 * prebuilt page tables, enter long mode and call the Rust entry.
 *
 * Keep this path short: under this project's nested KVM (PVM), code
 * outside user mode is emulated instruction by instruction, so every loop
 * here costs milliseconds.  The page tables are therefore assembled into
 * .data rather than built at run time, and the stack is not cleared.
 *
 * Intel syntax.  Pitfalls: `push offset sym` makes a 16-bit relocation, so
 * addresses go through eax; the far jump into 64-bit code goes through a
 * 6-byte pointer in memory (no stack exists yet);
 * local labels avoid 0/1 (they read as binary literals). */

    .section .note.Xen, "a"
    .balign 4
    .long 4                 /* namesz */
    .long 8                 /* descsz: QEMU reads a 64-bit entry address */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .quad pvh_start32

    .section .text.boot, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    mov esi, ebx                    /* start_info, kept for the Rust entry */
    rdtsc
    mov ebp, eax                    /* entry TSC, low */
    mov edi, edx                    /* entry TSC, high */

    /* QEMU's qboot (microvm's PVH loader) leaves the MTRRs disabled,
     * which makes all memory uncached wherever the hypervisor honours
     * guest MTRRs.  Enable them with write-back as the default type; MMIO
     * stays uncached through PCD|PWT in the page tables below. */
    mov eax, 1
    cpuid
    test edx, 0x1000                /* CPUID.1:EDX.MTRR */
    jz 7f
    mov ecx, 0x2ff                  /* IA32_MTRR_DEF_TYPE */
    rdmsr
    test eax, 0x800
    jnz 7f
    mov eax, 0x806                  /* enabled, fixed ranges off, WB */
    xor edx, edx
    wrmsr
7:
    mov ebx, edi                    /* entry TSC, high (cpuid clobbers ebx) */

    mov edi, offset __bss_start
    mov ecx, offset __bss_end
    sub ecx, edi
    shr ecx, 2
    xor eax, eax
    rep stosd

    mov dword ptr [{boot_tsc}], ebp
    mov dword ptr [{boot_tsc} + 4], ebx

    mov eax, cr4
    or eax, 0x20                    /* PAE */
    mov cr4, eax
    mov eax, offset boot_pml4
    mov cr3, eax
    mov ecx, 0xC0000080             /* EFER */
    rdmsr
    or eax, 0x100                   /* LME */
    wrmsr
    mov eax, cr0
    and eax, 0x9fffffff             /* clear CD and NW: caches on */
    or eax, 0x80010001              /* PG | WP | PE */
    mov cr0, eax

    lgdt [boot_gdt_ptr]
    /* An indirect far jump: the PVH ABI gives no stack (Xen enters with
     * esp = 0), so nothing may be pushed before long mode sets rsp. */
    jmp fword ptr [boot_far_ptr]

    .code64
pvh_long_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    lea rsp, [rip + boot_stack_top]
    xor ebp, ebp
    mov edi, esi
    call {kmain}
6:
    cli
    hlt
    jmp 6b

    .section .rodata.boot, "a"
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: data */
boot_gdt_end:
    .balign 4
    .word 0
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt
    .balign 4
boot_far_ptr:
    .long pvh_long_mode
    .word 0x08

    /* Identity map with 2 MiB pages: the first GiB (RAM; the heap stays
     * below it) and the top GiB below 4 GiB (virtio-mmio, IOAPIC, LAPIC),
     * the latter uncached (PCD|PWT, PAT entry 3 = UC). */
    .section .data.boot_pt, "aw"
    .balign 4096
boot_pml4:
    .quad boot_pdpt + 3
    .fill 511, 8, 0
boot_pdpt:
    .quad boot_pd0 + 3
    .quad 0
    .quad 0
    .quad boot_pd3 + 3
    .fill 508, 8, 0
boot_pd0:
    .set mb_pt_addr, 0
    .rept 512
    .quad mb_pt_addr + 0x83
    .set mb_pt_addr, mb_pt_addr + 0x200000
    .endr
boot_pd3:
    .set mb_pt_addr, 0xc0000000
    .rept 512
    .quad mb_pt_addr + 0x9b
    .set mb_pt_addr, mb_pt_addr + 0x200000
    .endr

    /* Outside .bss so that it is not cleared.  Generous because virtio
     * queues (several KiB of descriptor shadows each) are built on the
     * stack before they move to the heap. */
    .section .stack, "aw", @nobits
    .balign 4096
    .global boot_stack
boot_stack:
    .skip 262144
boot_stack_top:
