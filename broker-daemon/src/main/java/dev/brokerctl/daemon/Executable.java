package dev.brokerctl.daemon;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The program a request runs, resolved when it is asked for (PATH lookup as execvp does it, in
 * the child's own PATH and cwd), identified by the file's device, inode, size and ctime (a user
 * can reset mtime, not ctime) and a SHA-256 of its content, cached by that identity. For a
 * {@code #!} script the interpreter is resolved the same way, through PATH for
 * {@code #!/usr/bin/env NAME}. The runner executes {@link #path()} and calls
 * {@link #checkUnchanged()} just before it starts: a file replaced after approval is refused.
 *
 * <p>Left between that check and the exec is a window (microseconds; bwrap's set-up for a contained
 * run, milliseconds) in which a same-user process could still swap the file or a link on its way, a
 * contained one too where it may write (docs/threat-model.md).
 */
final class Executable {

    /** What identifies a file's content without reading it; ctime changes with every write. */
    record FileId(long device, long inode, long size, long ctimeNanos) {
    }

    /** The kernel reads this much of a file for its {@code #!} line (BINPRM_BUF_SIZE). */
    private static final int SHEBANG_MAX = 256;
    /** How many {@code #!} scripts deep an interpreter is followed. */
    static final int NESTING = 4;
    /**
     * A file whose ctime is this close to the moment its content was read may change again
     * without its ctime moving (timestamps come from a coarse clock tick on many kernels and file
     * systems): its hash is not cached, and {@link #checkUnchanged} reads it again ("racy git").
     */
    static final long RACY_NANOS = 2_000_000_000L;
    private static final Map<FileId, String> HASHES = Collections.synchronizedMap(
            new LinkedHashMap<>(64, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<FileId, String> eldest) {
                    return size() > 512;
                }
            });

    private final Path path;
    private final FileId id;
    private final String sha256;
    /**
     * Whether the requester can write to the file: then neither the cache nor its id is trusted
     * for its content (a store through a shared mapping into a page already dirty changes the
     * content and leaves ctime, size and inode as they were), and it is read again before the start.
     */
    private final boolean mine;
    private final Executable interpreter;
    /** env, when a {@code #!/usr/bin/env} line found the interpreter: it runs too, so it is bound too. */
    private final Executable via;
    /** An ELF file's program interpreter (PT_INTERP, the dynamic loader): it runs first. */
    private final Executable loader;
    /** What the {@code #!} line hands its interpreter beyond single-letter flags (a file, module or code it may run). */
    private final List<String> operands;
    /** How env found the interpreter (its name, the run's PATH and cwd), looked up again before the start; or null. */
    private EnvLookup envLookup;

    private record EnvLookup(String target, String path, Path cwd) {
    }

    private Executable(Path path, FileId id, String sha256, boolean mine, Executable interpreter, Executable via,
            Executable loader, List<String> operands) {
        this.path = path;
        this.id = id;
        this.sha256 = sha256;
        this.mine = mine;
        this.interpreter = interpreter;
        this.via = via;
        this.loader = loader;
        this.operands = operands;
    }

    /** Resolves {@code command} in {@code path} (the child's PATH) and {@code cwd}. */
    static Executable resolve(String command, String path, Path cwd) throws BrokerException {
        return resolveFile(lookup(command, path, cwd), command, path, cwd, 0);
    }

    /**
     * {@code file} and, for a {@code #!} script, its interpreter, resolved the same way: an
     * interpreter that is itself a script runs through its own {@code #!} line, as the kernel
     * follows it, up to {@link #NESTING} scripts (the kernel follows one more; deeper is refused).
     */
    private static Executable resolveFile(Path file, String command, String path, Path cwd, int depth)
            throws BrokerException {
        refuseProc(file, command);
        FileId id = idOf(file, command);
        boolean mine = writable(file);
        // what is parsed below is what was hashed: one read, so the file cannot differ between them
        Content content = content(file, id, command, wallNanos(), mine);
        String hash = content.sha256();
        List<String> shebang = shebang(content.head(), file, command);
        if (shebang.isEmpty()) {
            if (isElf(content.head())) {
                Path elf = elfInterpreter(content.head(), file, command);
                return new Executable(file, id, hash, mine, null, null, elf == null ? null : leaf(elf, command), List.of());
            }
            if (depth > 0) {
                // the kernel loads neither: the exec fails, and execvp runs the program with /bin/sh instead
                throw notExecutable(command, "its interpreter " + file + " is neither a #! script nor a binary"
                        + " this kernel loads");
            }
            // neither #! nor ELF: execvp (bwrap's) and the JDK's spawn run it with /bin/sh
            return new Executable(file, id, hash, mine, resolveFile(SH, command, path, cwd, depth + 1), null, null,
                    List.of());
        }
        if (depth == NESTING) {
            throw new BrokerException(ErrorCode.COMMAND_NOT_EXECUTABLE, command + ": its #! interpreters nest"
                    + " deeper than " + NESTING + " scripts (" + file + " is one more); name a binary interpreter");
        }
        Path first = Path.of(shebang.get(0));
        int program = envProgram(first, shebang, command);
        Executable via = null;
        Path interpreter;
        if (program > 0) {
            via = resolveFile(lookupInterpreter(first, command), command, path, cwd, NESTING);
            String target = shebang.get(program);
            if (target.contains("/") && !target.startsWith("/")) {
                // env would look it up from the child's cwd, not from PATH: say so rather than guess
                throw unreadableEnvLine(command, String.join(" ", shebang.subList(1, shebang.size())),
                        "env would run " + target + " from the run's working directory");
            }
            interpreter = target.contains("/") ? checkExecutable(Path.of(target), command) : lookup(target, path, cwd);
            if (isEnv(interpreter) || interpreter.getFileName().toString().equals("busybox")) {
                throw unreadableEnvLine(command, String.join(" ", shebang.subList(1, shebang.size())),
                        "env would run " + target + ", which runs what the rest of the line names unchecked");
            }
        } else {
            interpreter = lookupInterpreter(first, command);
        }
        List<String> operands = operands(shebang.subList(program > 0 ? program + 1 : 1, shebang.size()));
        Executable e = new Executable(file, id, hash, mine, resolveFile(interpreter, command, path, cwd, depth + 1), via,
                null, operands);
        if (via != null) {
            e.envLookup = new EnvLookup(shebang.get(program), path, cwd);
        }
        return e;
    }

    private static Executable leaf(Path file, String command) throws BrokerException {
        refuseProc(file, command);
        FileId id = idOf(file, command);
        boolean mine = writable(file);
        return new Executable(file, id, content(file, id, command, wallNanos(), mine).sha256(), mine,
                null, null, null, List.of());
    }

    /** The file that runs, as the kernel will exec it. */
    Path path() {
        return path;
    }

    /** A {@code #!} script's interpreter, or null. */
    Executable interpreter() {
        return interpreter;
    }

    /** {@code /usr/bin/env} when the interpreter was found through PATH by {@code #!/usr/bin/env NAME}, or null. */
    Path via() {
        return via == null ? null : via.path;
    }

    /** An ELF file's dynamic loader (PT_INTERP), or null. */
    Executable loader() {
        return loader;
    }

    /**
     * The words of a {@code #!} line after its interpreter (after env's program), all of them,
     * unless each is a single-letter flag ({@code -e}): a file, module or code the interpreter
     * may run instead of the script ({@code /other/file}, {@code -mmod}, {@code --import=x.mjs}),
     * which the approval does not bind (only the files that run are hashed). Empty for most scripts.
     */
    List<String> interpreterOperands() {
        if (interpreter == null || interpreter.interpreterOperands().isEmpty()) {
            return operands;
        }
        List<String> all = new ArrayList<>(operands);
        all.addAll(interpreter.interpreterOperands());
        return all;
    }

    /** Whether the requester (the daemon's own user) can change the code that runs. */
    boolean requesterCanEdit() {
        return editable() != null;
    }

    /** The first file that runs (this one, its loader, env, its interpreters) the requester can change, or null. */
    Path editable() {
        if (mine) {
            return path;
        }
        for (Executable part : new Executable[] {loader, via, interpreter}) {
            Path p = part == null ? null : part.editable();
            if (p != null) {
                return p;
            }
        }
        return null;
    }

    /** @throws BrokerException when the file (or its interpreter) is not the one that was approved */
    void checkUnchanged() throws BrokerException {
        // the links on the way may have been repointed since: into /proc, the run would find another file
        if (entersProc(path)) {
            throw new BrokerException(ErrorCode.INVALID, "the executable " + path
                    + " leads through /proc since it was approved; ask again");
        }
        if (envLookup != null) {
            // env looks the interpreter up again in the run: a PATH entry repointed finds another one
            Path again;
            try {
                again = envLookup.target().contains("/") ? checkExecutable(Path.of(envLookup.target()), envLookup.target())
                        : lookup(envLookup.target(), envLookup.path(), envLookup.cwd());
            } catch (BrokerException e) {
                again = null;
            }
            if (!interpreter.path.equals(again)) {
                throw new BrokerException(ErrorCode.INVALID, "env would now run " + envLookup.target() + " from "
                        + (again == null ? "nowhere" : again) + ", not the approved " + interpreter.path + "; ask again");
            }
        }
        FileId now;
        try {
            now = idOf(path, path.toString());
        } catch (BrokerException e) {
            now = null;
        }
        if (!unchanged(path, id, now, sha256, mine)) {
            throw new BrokerException(ErrorCode.INVALID, "the executable " + path
                    + " changed after it was approved; ask again");
        }
        for (Executable part : new Executable[] {loader, via, interpreter}) {
            if (part != null) {
                part.checkUnchanged();
            }
        }
    }

    /** What the request identity hashes: the path and content of each file that runs. */
    Map<String, Object> identity() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", path.toString());
        m.put("sha256", sha256);
        if (loader != null) {
            m.put("loader", loader.identity());
        }
        if (via != null) {
            m.put("via", via.identity());
        }
        if (interpreter != null) {
            m.put("interpreter", interpreter.identity());
        }
        return m;
    }

    @Override
    public String toString() {
        return "Executable[" + path + (interpreter == null ? "" : " via " + interpreter.path) + "]";
    }

    /**
     * Whether {@code file}, approved with id {@code approved} and content {@code sha256}, is
     * unchanged now that its id is {@code now}: the same id, and for a file too recent to trust
     * its ctime (its hash was not cached) or one the requester can write ({@code mine}), the same
     * content read again: its id may not have moved.
     */
    static boolean unchanged(Path file, FileId approved, FileId now, String sha256, boolean mine) throws BrokerException {
        return approved.equals(now) && (!mine && sha256.equals(HASHES.get(approved)) || sha256.equals(read(file, file.toString())));
    }

    // ------------------------------------------------------------------ resolving

    private static Path lookupInterpreter(Path interpreter, String command) throws BrokerException {
        if (!interpreter.isAbsolute()) {
            throw new BrokerException(ErrorCode.COMMAND_NOT_EXECUTABLE, command + ": its #! interpreter "
                    + interpreter + " is not an absolute path");
        }
        return checkExecutable(interpreter, command + " (#! " + interpreter + ")");
    }

    /**
     * For a {@code #!} line through env: the index in {@code shebang} of the program env runs;
     * -1 when the interpreter is not env, or is env with nothing after it. The kernel hands env the
     * rest of the line as one argument: without {@code -S} that is the program's name; with
     * {@code -S} env splits it into the program and its arguments. Whatever else env would
     * interpret is refused: another option (which may take the next word as its argument), quotes,
     * escapes, {@code ${VAR}} or a comment under {@code -S}, and a {@code NAME=V} assignment (it
     * would change env's own PATH lookup, or what the interpreter loads, unseen): the program shown
     * and hashed must be the one env runs, with the environment the request showed.
     */
    static int envProgram(Path interpreter, List<String> shebang, String command) throws BrokerException {
        if (shebang.size() < 2 || !isEnv(interpreter)) {
            return -1;
        }
        String line = String.join(" ", shebang.subList(1, shebang.size()));
        if (!shebang.get(1).equals("-S")) {
            String program = shebang.get(1);
            if (shebang.size() > 2 || program.startsWith("-") || program.contains("=")) {
                throw unreadableEnvLine(command, line, "env takes '" + line + "' as one "
                        + (program.startsWith("-") ? "option" : program.contains("=") ? "assignment" : "program name"));
            }
            return 1;
        }
        for (String w : shebang.subList(2, shebang.size())) {
            if (w.startsWith("#") || w.chars().anyMatch(c -> c == '$' || c == '\\' || c == '\'' || c == '"')) {
                throw unreadableEnvLine(command, line, "env -S would expand or unquote '" + w + "'");
            }
        }
        String program = shebang.size() > 2 ? shebang.get(2) : null;
        if (program == null || program.startsWith("-") || program.contains("=")) {
            // NAME=V would reach env's own lookup of the program (PATH) and the interpreter (BASH_ENV,
            // LD_PRELOAD...) unseen by the checks the request's own environment gets
            throw unreadableEnvLine(command, line, program == null ? "it names no program"
                    : program.startsWith("-") ? "env's option " + program + " is not one the broker reads"
                    : "env -S would set " + program.substring(0, program.indexOf('=')) + " for the program"
                    + " (set it in the request's environment, where it is shown and checked)");
        }
        return 2;
    }

    private static BrokerException unreadableEnvLine(String command, String line, String why) {
        return new BrokerException(ErrorCode.COMMAND_NOT_EXECUTABLE, command + ": its #! line (/usr/bin/env "
                + line + ") cannot be checked: " + why + "; write it as #!/usr/bin/env PROGRAM or"
                + " #!/usr/bin/env -S PROGRAM [ARGS...]");
    }

    private static List<String> operands(List<String> words) {
        return words.stream().allMatch(w -> w.length() == 2 && w.charAt(0) == '-' && Character.isLetter(w.charAt(1)))
                ? List.of() : words;
    }

    private static final List<Path> ENVS = List.of(Path.of("/usr/bin/env"), Path.of("/bin/env"));

    /**
     * Whether {@code p} is env: the system's env file (through any link, or a hard link), or a
     * copy of it. Not by name: a file the requester calls {@code env} is an interpreter like any other.
     */
    static boolean isEnv(Path p) {
        try {
            if (!Files.isRegularFile(p)) {
                return false;
            }
            for (Path env : ENVS) {
                if (Files.isRegularFile(env) && (Files.isSameFile(p, env) || Files.size(p) == Files.size(env)
                        && hash(p, idOf(p, p.toString()), p.toString(), wallNanos())
                                .equals(hash(env, idOf(env, env.toString()), env.toString(), wallNanos())))) {
                    return true;
                }
            }
        } catch (IOException | BrokerException e) {
            return false;
        }
        return false;
    }

    /** What execvp and the JDK run a file with that is neither {@code #!} nor a binary. */
    private static final Path SH = Path.of("/bin/sh");
    /** This machine's ELF e_machine for its native (64-bit) binaries; -1 where unknown. */
    private static final int MACHINE = switch (System.getProperty("os.arch")) {
        case "amd64", "x86_64" -> 62;
        case "aarch64" -> 183;
        case "riscv64" -> 243;
        case "ppc64le" -> 21;
        case "s390x" -> 22;
        default -> -1;
    };
    private static final java.nio.ByteOrder NATIVE = java.nio.ByteOrder.nativeOrder();

    static boolean isElf(byte[] head) {
        return head.length >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F';
    }

    /** {@link #elfInterpreter(byte[], Path, String)} of the file's first bytes. */
    static Path elfInterpreter(Path file, String command) throws BrokerException {
        byte[] head = head(file, command);
        return isElf(head) ? elfInterpreter(head, file, command) : null;
    }

    /**
     * The program interpreter (PT_INTERP: the dynamic loader the kernel starts first) of an ELF
     * file whose first bytes are {@code head}, or null for a static one. Read as this kernel's
     * loader reads it, not as the file says: the layout follows e_machine and e_phentsize (the
     * kernel ignores EI_CLASS and EI_DATA and reads in its own byte order), the program headers are
     * at most a page, the first PT_INTERP counts. Anything else that starts with ELF's magic is
     * refused: a file the kernel would not load is run by /bin/sh instead (execvp's fallback), and a
     * header read otherwise than the kernel reads it could hide the loader.
     */
    static Path elfInterpreter(byte[] head, Path file, String command) throws BrokerException {
        java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(head).order(NATIVE);
        if (head.length < 64) {
            throw notExecutable(command, file + ": not an ELF file this kernel loads (too short)");
        }
        int type = Short.toUnsignedInt(h.getShort(16));
        int machine = Short.toUnsignedInt(h.getShort(18));
        // 32-bit binaries (i386, x32) are not read: where the kernel lacks their support the exec fails
        // and execvp runs the file with /bin/sh instead, which the broker could not tell from here
        if (machine != MACHINE || Short.toUnsignedInt(h.getShort(54)) != 56) {
            throw notExecutable(command, file + ": not an ELF file this kernel loads as the broker reads it"
                    + " (machine " + machine + ", a 32-bit binary, or a header it reads otherwise)");
        }
        if (type != 2 && type != 3) {
            throw notExecutable(command, file + ": not an ELF executable (type " + type + ")");
        }
        long phoff = h.getLong(32);
        int phentsize = 56;
        int phnum = Short.toUnsignedInt(h.getShort(56));
        long size = (long) phentsize * phnum;
        if (size == 0 || size > 4096 || phoff < 0 || phoff + size > head.length) {
            throw notExecutable(command, file + ": its ELF program headers cannot be read as the kernel reads them");
        }
        for (int i = 0; i < phnum; i++) {
            int at = (int) phoff + i * phentsize;
            if (h.getInt(at) != 3) {   // PT_INTERP
                continue;
            }
            long offset = h.getLong(at + 8);
            long length = h.getLong(at + 32);
            if (length < 2 || length > 4096 || offset < 0 || offset + length > head.length
                    || head[(int) (offset + length - 1)] != 0) {
                throw notExecutable(command, file + ": its ELF program interpreter cannot be read");
            }
            String loader = new String(head, (int) offset, (int) length - 1, StandardCharsets.ISO_8859_1);
            if (!loader.startsWith("/") || loader.indexOf(0) >= 0) {
                throw notExecutable(command, file + ": its ELF program interpreter " + Log.safe(loader)
                        + " is not an absolute path");
            }
            return checkExecutable(Path.of(loader), command + " (its ELF loader " + loader + ")");
        }
        return null;
    }

    private static void refuseProc(Path file, String command) throws BrokerException {
        if (entersProc(file)) {
            throw notExecutable(command, file + " leads through /proc, where a path names another file for"
                    + " the run than for the broker (/proc/self is each process's own); name the file itself");
        }
    }

    /**
     * Whether resolving {@code file} as the kernel does (a part at a time, each symbolic link
     * followed where it leads) enters {@code /proc}: its links ({@code /proc/self/cwd},
     * {@code /proc/self/exe}, {@code /proc/self/fd/N}, and {@code /dev/fd}, {@code /dev/stdin} that
     * lead there) name what the process that follows them has, not what the daemon has.
     */
    static boolean entersProc(Path file) {
        return entersProc(file.toAbsolutePath(), 0);
    }

    private static boolean entersProc(Path abs, int links) {
        if (links > 40) {
            return true;   // the kernel gives up (ELOOP); so does this
        }
        Path cur = abs.getRoot();
        for (Path part : abs) {
            String name = part.toString();
            if (name.equals(".") || name.isEmpty()) {
                continue;
            }
            Path next = name.equals("..") ? (cur.getParent() == null ? cur : cur.getParent()) : cur.resolve(name);
            if (next.startsWith(PROC)) {
                return true;
            }
            if (Files.isSymbolicLink(next)) {
                try {
                    Path target = Files.readSymbolicLink(next);
                    if (entersProc(cur.resolve(target), links + 1)) {
                        return true;
                    }
                    next = next.toRealPath();   // safe now: no link on the way leads into /proc
                } catch (IOException e) {
                    return false;   // a dangling link: the lookup fails on its own
                }
            }
            cur = next;
        }
        return false;
    }

    private static final Path PROC = Path.of("/proc");

    private static BrokerException notExecutable(String command, String why) {
        return new BrokerException(ErrorCode.COMMAND_NOT_EXECUTABLE, command + ": " + why);
    }

    /**
     * The interpreter line of a script, split at spaces and tabs (as the kernel and env -S split
     * it), or empty. A line the kernel and this reading could take differently is refused: one with
     * a control character (a tab aside), DEL or a byte above ASCII (env -S splits at more
     * whitespace than the kernel, the kernel cuts at a NUL, a CR is part of the name), or one that
     * does not end within the {@value #SHEBANG_MAX} bytes the kernel reads.
     */
    private static List<String> shebang(byte[] head, Path file, String command) throws BrokerException {
        int n = Math.min(head.length, SHEBANG_MAX);
        if (n < 2 || head[0] != '#' || head[1] != '!') {
            return List.of();
        }
        int end = 2;
        while (end < n && head[end] != '\n') {
            int b = head[end] & 0xff;
            if (b < 0x20 && b != '\t' || b >= 0x7f) {
                throw new BrokerException(ErrorCode.COMMAND_NOT_EXECUTABLE, command + ": its #! line (" + file
                        + ") holds the byte 0x" + String.format("%02x", b) + ", which the kernel and env read"
                        + " differently from a checker" + (b == '\r' ? "; save the script with Unix line ends" : ""));
            }
            end++;
        }
        if (end == SHEBANG_MAX) {
            throw new BrokerException(ErrorCode.COMMAND_NOT_EXECUTABLE, command + ": its #! line (" + file
                    + ") is longer than the " + (SHEBANG_MAX - 1) + " bytes the kernel reads");
        }
        List<String> words = new ArrayList<>();
        for (String w : new String(head, 2, end - 2, StandardCharsets.US_ASCII).split("[ \t]+")) {
            if (!w.isEmpty()) {
                words.add(w);
            }
        }
        return words;
    }

    /** PATH lookup as execvp does it, so a missing or non-executable command gets 127 or 126. */
    static Path lookup(String command, String path, Path cwd) throws BrokerException {
        if (command.contains("/")) {
            return checkExecutable(withoutDots(cwd.resolve(command)), command);
        }
        boolean sawNonExecutable = false;
        // as glibc's execvp: no PATH is confstr's /bin:/usr/bin; an empty one is one empty entry, the cwd
        for (String dir : (path == null ? "/bin:/usr/bin" : path).split(":", -1)) {
            // env looks up in the run's PATH from the run: an entry through /proc is another directory there
            refuseProc(dir.isEmpty() ? cwd : cwd.resolve(dir), command + " (PATH entry " + dir + ")");
            Path p = withoutDots(dir.isEmpty() ? cwd.resolve(command) : cwd.resolve(dir).resolve(command));
            if (Files.isRegularFile(p)) {
                if (Files.isExecutable(p)) {
                    return p;
                }
                sawNonExecutable = true;
            }
        }
        if (sawNonExecutable) {
            throw new BrokerException(ErrorCode.COMMAND_NOT_EXECUTABLE, command
                    + ": permission denied (found in PATH but not executable)");
        }
        throw new BrokerException(ErrorCode.COMMAND_NOT_FOUND, command + ": command not found in PATH");
    }

    /**
     * {@code p} without its {@code .} parts. Its {@code ..} parts stay: after a symbolic link,
     * {@code ..} leads from the link's target, not from the link's directory, so only the kernel
     * can take them away ({@link Path#normalize} would name another file than the one that runs).
     */
    static Path withoutDots(Path p) {
        Path out = p.getRoot();
        for (Path part : p) {
            if (!part.toString().equals(".")) {
                out = out == null ? part : out.resolve(part);
            }
        }
        return out == null ? p : out;
    }

    private static Path checkExecutable(Path p, String command) throws BrokerException {
        refuseProc(p, command);
        if (!Files.exists(p)) {
            throw new BrokerException(ErrorCode.COMMAND_NOT_FOUND, command + ": no such file");
        }
        if (Files.isDirectory(p)) {
            throw new BrokerException(ErrorCode.COMMAND_NOT_EXECUTABLE, command + ": is a directory");
        }
        if (!Files.isExecutable(p)) {
            throw new BrokerException(ErrorCode.COMMAND_NOT_EXECUTABLE, command + ": permission denied");
        }
        return p;
    }

    private static FileId idOf(Path file, String command) throws BrokerException {
        try {
            Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino,size,ctime,mode");
            if (((Integer) a.get("mode") & 0170000) != 0100000) {
                // a FIFO (or a device) would block the read of its content, and the thread with it
                throw new BrokerException(ErrorCode.COMMAND_NOT_EXECUTABLE, command + ": not a regular file");
            }
            java.nio.file.attribute.FileTime ctime = (java.nio.file.attribute.FileTime) a.get("ctime");
            return new FileId((Long) a.get("dev"), (Long) a.get("ino"), (Long) a.get("size"),
                    ctime.to(java.util.concurrent.TimeUnit.NANOSECONDS));
        } catch (IOException | UnsupportedOperationException | ClassCastException e) {
            throw new BrokerException(ErrorCode.COMMAND_NOT_EXECUTABLE, command + ": cannot read its file ("
                    + e.getClass().getSimpleName() + ")");
        }
    }

    /**
     * The content hash of {@code file}, whose id is {@code id}, from the cache when the id is
     * there; cached only when the file's ctime is older than {@code startNanos} (the wall clock
     * before the read) by {@link #RACY_NANOS}, and the id did not change during the read.
     */
    static String hash(Path file, FileId id, String command, long startNanos) throws BrokerException {
        String known = HASHES.get(id);
        return known != null ? known : content(file, id, command, startNanos, false).sha256();
    }

    /** A file's SHA-256 and its first {@link #HEAD_MAX} bytes, from one read (or the hash from the cache). */
    record Content(String sha256, byte[] head) {
    }

    /** The first bytes of a file, where its {@code #!} line and its ELF headers are looked for. */
    static final int HEAD_MAX = 64 * 1024;

    /**
     * {@link #hash}, with the file's first bytes: for a file of the requester's ({@code mine}) never
     * from the cache, and the bytes from the same read as the hash.
     */
    static Content content(Path file, FileId id, String command, long startNanos, boolean mine) throws BrokerException {
        String known = mine ? null : HASHES.get(id);
        if (known != null) {
            return new Content(known, head(file, command));   // nobody but root can change it
        }
        Content c = readContent(file, command);
        if (!mine && id.ctimeNanos() + RACY_NANOS < startNanos && id.equals(idOf(file, command))) {
            HASHES.put(id, c.sha256());
        }
        return c;
    }

    private static String read(Path file, String command) throws BrokerException {
        return readContent(file, command).sha256();
    }

    private static Content readContent(Path file, String command) throws BrokerException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            java.io.ByteArrayOutputStream head = new java.io.ByteArrayOutputStream(4096);
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) > 0) {
                sha.update(buf, 0, n);
                if (head.size() < HEAD_MAX) {
                    head.write(buf, 0, Math.min(n, HEAD_MAX - head.size()));
                }
            }
            return new Content(HexFormat.of().formatHex(sha.digest()), head.toByteArray());
        } catch (IOException e) {
            throw new BrokerException(ErrorCode.COMMAND_NOT_EXECUTABLE, command + ": cannot be read ("
                    + e.getClass().getSimpleName() + ")");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] head(Path file, String command) throws BrokerException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(HEAD_MAX);
        } catch (IOException e) {
            throw new BrokerException(ErrorCode.COMMAND_NOT_EXECUTABLE, command + ": cannot be read ("
                    + e.getClass().getSimpleName() + ")");
        }
    }

    static long wallNanos() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /**
     * Whether this process's user can change what is at {@code file}: it or a directory above it
     * is writable to the user, or owned by the user (who can make it writable: mode 0555 protects
     * nothing from its owner). Checked along the path as given and along its real path; a missing
     * part counts as what its nearest existing directory allows (the user may create it). Errs
     * towards yes: a sticky directory is counted as writable whatever owns its entries.
     */
    static boolean writable(Path file) {
        return writable(file, Files::isWritable, self());
    }

    /**
     * {@link #writable(Path)} with what is writable to the user ({@code writableTo}) and the user
     * ({@code self}; null: unknown, so everything counts) given: tests run as root, to whom all is writable.
     */
    static boolean writable(Path file, Predicate<Path> writableTo, UserPrincipal self) {
        Path abs = withoutDots(file.toAbsolutePath());   // each of its parents as the kernel finds it
        if (changeable(abs, writableTo, self)) {
            return true;
        }
        try {
            Path real = abs.toRealPath();
            return !real.equals(abs) && changeable(real, writableTo, self);
        } catch (IOException e) {
            return false;   // missing: changeable(abs) looked at the directories that exist
        }
    }

    private static boolean changeable(Path abs, Predicate<Path> writableTo, UserPrincipal self) {
        for (Path p = abs; p != null; p = p.getParent()) {
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            if (writableTo.test(p)) {
                return true;
            }
            try {
                if (self == null || self.equals(Files.getOwner(p, LinkOption.NOFOLLOW_LINKS))) {
                    return true;
                }
            } catch (IOException e) {
                return true;
            }
        }
        return false;
    }

    private static volatile UserPrincipal self;

    /** This process's user, or null when it cannot be looked up (then everything counts as changeable). */
    private static UserPrincipal self() {
        UserPrincipal u = self;
        if (u == null) {
            try {
                u = FileSystems.getDefault().getUserPrincipalLookupService()
                        .lookupPrincipalByName(System.getProperty("user.name"));
                self = u;
            } catch (IOException | UnsupportedOperationException e) {
                return null;
            }
        }
        return u;
    }
}
