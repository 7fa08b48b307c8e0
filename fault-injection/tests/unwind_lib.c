/* unwind_lib.c — one of two objects for test_unwind.c's unload case: each
   defines unw_lib_call(f), which calls f from a frame whose return address
   lies at the same offset in both but whose CFA does not (rsp + 32 here,
   rsp + 48 with UNW_LIB_B).  Loaded one after the other at the same
   address, a rule cached for the first must not be used for the second. */
#ifdef UNW_LIB_B
#define UNW_LIB_FRAME "40"
#define UNW_LIB_CFA "48"
#else
#define UNW_LIB_FRAME "24"
#define UNW_LIB_CFA "32"
#endif

void unw_lib_call(void (*f)(void));
__asm__(".text\n"
        ".globl unw_lib_call\n"
        ".type unw_lib_call, @function\n"
        ".p2align 4\n"
        "unw_lib_call:\n"
        ".cfi_startproc\n"
        "  sub $" UNW_LIB_FRAME ", %rsp\n"
        ".cfi_def_cfa_offset " UNW_LIB_CFA "\n"
        "  call *%rdi\n"
        "  add $" UNW_LIB_FRAME ", %rsp\n"
        ".cfi_def_cfa_offset 8\n"
        "  ret\n"
        ".cfi_endproc\n"
        ".size unw_lib_call, .-unw_lib_call\n");
