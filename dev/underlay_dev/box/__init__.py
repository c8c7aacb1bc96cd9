"""The kernel box: run one command under a full Linux kernel (User-Mode Linux).

    .venv/bin/kernel-box [--timeout SECONDS] [--mem 1G] -- COMMAND [ARG...]
    .venv/bin/kernel-box --timeout 600 -- .venv/bin/pytest tests/kernel/test_box.py::test_vlan_link

The machine's own kernel has no loadable modules (no 802.1Q VLAN, ipvlan,
dummy, ...). Debian's ``user-mode-linux`` package ships a 6.1 kernel as an
ordinary program, ``/usr/bin/linux.uml``, with all of those as modules. This
package boots it with the host's root file system mounted read-write through
hostfs (so the checkout, the venv and every tool are visible at the same
paths), loads the modules, runs COMMAND in the checkout's root directory, and
powers the box off. The box has a kernel, and so a network stack, of its own:
nothing done inside touches the machine's interfaces, routes or firewall.

* COMMAND's output streams live to our stdout (the box's console is a pipe to
  this process); its exit status becomes ours. 124 means the time limit was
  hit (it covers the boot too), 125 that the box itself failed (did not boot,
  a module did not load, no exit status came back); 130/143 after Ctrl-C or
  SIGTERM.
* Inside, COMMAND gets a fresh environment: PATH starting with the venv's bin,
  HOME and TMPDIR on the box's /run, LANG=C.UTF-8, TERM=dumb, UNDERLAY_KERNEL_BOX=1 (tests use
  it to know they are inside), the CPU-feature switches explained below, and
  CI / PYTEST_ADDOPTS / any --env NAME[=VALUE] passed through. /run (so
  /run/netns), /dev and /dev/shm are the box's own (tmpfs/devtmpfs);
  everything else, /tmp included (a checkout may live there), is the host's
  file system, read-write.
* Teardown always happens: UML runs in a process group of its own (it forks
  helper processes), which is SIGKILLed on timeout, Ctrl-C, SIGTERM, SIGHUP
  and after a normal poweroff; this process is a child subreaper, so orphaned
  helpers are reaped here, and it waits until the group is empty. The run
  directory (``.cache/box/run-PID-*``: the generated init script, UML's pid
  file and mconsole socket, the exit status) is removed. Should this process
  itself be SIGKILLed, a forked watchdog kills the group and removes the run
  directory; the next run also removes whatever a dead run left behind.
* stdin is not passed on: the box reads /dev/null, so it runs the same
  from a terminal, under make, and in CI without stdin or a terminal.

Why the seccomp filter (machines whose CPUs have AMX/AVX-512)
--------------------------------------------------------------
UML runs each of its processes as a host process that it drives with ptrace,
and saves and restores their registers with PTRACE_GETREGSET/SETREGSET. For
the floating point and vector state it first tries NT_X86_XSTATE (XSAVE
format), with a buffer sized for the CPUs UML 6.1 knows. With AMX (Sapphire
Rapids and later) the host's XSAVE area is much larger than that buffer, and
UML dies at boot with ``userspace - ptrace set fp regs failed, errno = 14``
(EFAULT). If PTRACE_GETREGSET NT_X86_XSTATE fails during its start-up probe,
UML falls back to the FXSAVE format (x87 + SSE only), which works everywhere.
So linux.uml is started under a seccomp filter that makes exactly
``ptrace(PTRACE_GETREGSET, pid, NT_X86_XSTATE, ...)`` fail with EIO (nothing
else is touched). It is applied on every machine, so that the box behaves the
same everywhere.

The price: only the SSE state of processes inside the box survives a context
switch, so userspace inside must not use AVX registers (the upper halves get
clobbered: without the switches below, printf printed "%s" literally). glibc
picks its string functions by CPU feature, so the box sets GLIBC_TUNABLES to
hide AVX/AVX2/AVX-512/FMA (on the kernel command line too, so that PID 1's
shell gets it), and OpenSSL (Python's ssl and hashlib, the ``cryptography``
wheel Ansible uses) gets OPENSSL_ia32cap to mask AVX and every CPUID-7
feature, and Go programs (the Docker engine) get GODEBUG to turn their AVX
code paths off.
"""

# The parts: config.py (paths, modules, the box's environment, exit statuses), seccomp.py (the filter
# below), init_script.py (PID 1 of the box), processes.py (finding, killing and reaping UML's processes, the
# watchdog), console.py (the console stream), run.py (one run), cli.py (the command line).
