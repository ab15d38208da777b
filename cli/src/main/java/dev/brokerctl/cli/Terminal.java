package dev.brokerctl.cli;

import java.io.ByteArrayOutputStream;
import java.io.Console;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Everything that reads secrets from the human: passphrases (TTY without echo, or the first line
 * of {@code $BROKERCTL_PASSPHRASE_FILE}), secret values (TTY without echo, or stdin), and
 * confirmations. Secrets are {@code char[]}/{@code byte[]}, never Strings; callers zero them.
 */
final class Terminal {

    static final String PASSPHRASE_FILE = "BROKERCTL_PASSPHRASE_FILE";
    static final String NEW_PASSPHRASE_FILE = "BROKERCTL_NEW_PASSPHRASE_FILE";

    private final Map<String, String> env;
    private final InputStream stdin;

    Terminal(Map<String, String> env, InputStream stdin) {
        this.env = env;
        this.stdin = stdin;
    }

    static Terminal system() {
        return new Terminal(System.getenv(), System.in);
    }

    /** Reads the current passphrase from the passphrase file or the terminal. */
    char[] passphrase(String prompt) throws CliException {
        String file = env.get(PASSPHRASE_FILE);
        if (file != null && !file.isEmpty()) {
            return firstLine(Path.of(file), PASSPHRASE_FILE);
        }
        return readHidden(prompt, "set " + PASSPHRASE_FILE + " to a file whose first line is the passphrase");
    }

    /** How often a human at the terminal may type the passphrase for one command. */
    static final int TRIES = 3;

    /** Something done with the passphrase that fails with {@link dev.brokerctl.vault.WrongPassphraseException}. */
    interface WithPassphrase<T> {
        T apply(char[] passphrase) throws Exception;
    }

    /**
     * Reads the passphrase and gives it to {@code use}, zeroed after; a wrong one typed at the
     * terminal is asked for again, {@value #TRIES} tries in all. A passphrase file gets one try:
     * asking a file again gives the same answer.
     */
    <T> T withPassphrase(String prompt, java.io.PrintWriter err, WithPassphrase<T> use) throws Exception {
        String file = env.get(PASSPHRASE_FILE);
        int tries = file != null && !file.isEmpty() ? 1 : TRIES;
        for (int i = 1; ; i++) {
            char[] passphrase = passphrase(prompt);
            try {
                return use.apply(passphrase);
            } catch (dev.brokerctl.vault.WrongPassphraseException e) {
                if (i >= tries) {
                    if (tries == 1) {
                        throw e;
                    }
                    throw new CliException(e.getMessage() + " (" + tries + " tries); nothing was done");
                }
                err.println("brokerctl: " + e.getMessage() + "; try again (" + (tries - i)
                        + (tries - i == 1 ? " try" : " tries") + " left)");
                err.flush();
            } finally {
                Arrays.fill(passphrase, '\0');
            }
        }
    }

    /**
     * Reads a new passphrase: from {@code fileVariable} when set, else twice from the terminal
     * (the two must match). Its length is checked before it is asked for the second time.
     */
    char[] newPassphrase(String fileVariable, String prompt) throws CliException {
        String file = env.get(fileVariable);
        if (file != null && !file.isEmpty()) {
            return firstLine(Path.of(file), fileVariable);
        }
        String hint = "set " + fileVariable + " to a file whose first line is the new passphrase";
        char[] first = readHidden(prompt, hint);
        try {
            dev.brokerctl.vault.Passphrases.checkNew(first);
        } catch (IllegalArgumentException e) {
            Arrays.fill(first, '\0');
            throw new CliException(e.getMessage() + "; nothing was changed", ExitCodes.USAGE);
        }
        char[] second = readHidden("Repeat it: ", hint);
        try {
            if (!Arrays.equals(first, second)) {
                Arrays.fill(first, '\0');
                throw new CliException("the two passphrases differ; nothing was changed");
            }
            return first;
        } finally {
            Arrays.fill(second, '\0');
        }
    }

    /** Is standard input a terminal? */
    boolean stdinIsTerminal() {
        if (stdin != System.in) {
            return false;
        }
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/0")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty")
                    || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException e) {
            return System.console() != null;
        }
    }

    /** Reads a secret value: without echo from the terminal, else all of stdin (up to {@code max}). */
    byte[] secretValue(String prompt, int max) throws CliException {
        if (stdinIsTerminal()) {
            char[] line = readHidden(prompt, "pipe the value into standard input");
            try {
                return utf8(line);
            } finally {
                Arrays.fill(line, '\0');
            }
        }
        if (stdin == System.in && "closed".equals(System.getProperty("brokerctl.stdin"))) {
            // bin/brokerctl found fd 0 closed and gave the JVM /dev/null instead (a closed fd 0
            // is reused by the first file the JVM opens, which we would read as the value)
            throw new CliException("stdin is closed; nothing was stored. Pipe the value in: "
                    + SetCommand.PIPE_IT_IN.replace("%%", "%"));
        }
        byte[] all = readLimited(stdin, max);
        // `echo "$V" | brokerctl set`: drop the one trailing newline of a single-line value.
        int n = all.length;
        if (n > 0 && all[n - 1] == '\n' && indexOf(all, (byte) '\n') == n - 1) {
            int cut = n >= 2 && all[n - 2] == '\r' ? n - 2 : n - 1;
            byte[] trimmed = Arrays.copyOf(all, cut);
            Arrays.fill(all, (byte) 0);
            return trimmed;
        }
        return all;
    }

    /** Asks a yes/no question on the terminal; false without a terminal. */
    boolean confirm(String question) throws CliException {
        Console console = System.console();
        if (console != null) {
            String answer = console.readLine("%s [y/N] ", question);
            return answer != null && (answer.equalsIgnoreCase("y") || answer.equalsIgnoreCase("yes"));
        }
        try (TtyChannel tty = TtyChannel.open()) {
            if (tty == null) {
                return false;
            }
            tty.write(question + " [y/N] ");
            char[] answer = tty.readLine(false);
            String a = new String(answer).trim();
            return a.equalsIgnoreCase("y") || a.equalsIgnoreCase("yes");
        }
    }

    /** Reads a line without echo, from System.console() or /dev/tty when stdout is redirected. */
    private char[] readHidden(String prompt, String hint) throws CliException {
        Console console = System.console();
        if (console != null) {
            char[] line = console.readPassword("%s", prompt);
            if (line == null) {
                throw new CliException("no input (end of file) at the prompt; nothing was changed");
            }
            return line;
        }
        try (TtyChannel tty = TtyChannel.open()) {
            if (tty == null) {
                throw new CliException("no terminal to read from; " + hint);
            }
            tty.write(prompt);
            return tty.readLine(true);
        }
    }

    private static char[] firstLine(Path file, String variable) throws CliException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new CliException(variable + " names " + file + ", which does not exist");
        } catch (IOException e) {
            throw new CliException("cannot read " + variable + " file " + file + ": " + e.getMessage());
        }
        try {
            int end = indexOf(bytes, (byte) '\n');
            if (end < 0) {
                end = bytes.length;
            }
            if (end > 0 && bytes[end - 1] == '\r') {
                end--;
            }
            if (end == 0) {
                throw new CliException(variable + " file " + file + " has an empty first line");
            }
            return decode(bytes, end);
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    static char[] decode(byte[] bytes, int length) throws CliException {
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, 0, length));
            char[] out = Arrays.copyOf(chars.array(), chars.limit());
            Arrays.fill(chars.array(), '\0');
            return out;
        } catch (CharacterCodingException e) {
            throw new CliException("the passphrase is not valid UTF-8 text");
        }
    }

    static byte[] utf8(char[] chars) {
        ByteBuffer buf = StandardCharsets.UTF_8.encode(CharBuffer.wrap(chars));
        byte[] out = Arrays.copyOf(buf.array(), buf.limit());
        Arrays.fill(buf.array(), (byte) 0);
        return out;
    }

    /** Reads all of {@code in}, failing (and zeroing what it read) past {@code max} bytes. */
    static byte[] readLimited(InputStream in, int max) throws CliException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                if (out.size() + n > max) {
                    throw new CliException("the value is longer than " + max
                            + " bytes (64 KiB), the limit; nothing was stored");
                }
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new CliException("cannot read standard input: " + e.getMessage());
        } finally {
            Arrays.fill(buf, (byte) 0);
            // ByteArrayOutputStream's buffer cannot be zeroed from here; it holds at most one value
        }
    }

    private static int indexOf(byte[] b, byte x) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == x) {
                return i;
            }
        }
        return -1;
    }

    /**
     * /dev/tty with echo switched off through {@code stty}, for when System.console() is null
     * because stdout is piped ({@code brokerctl list --json | jq}). No secret is on stty's argv.
     */
    private static final class TtyChannel implements AutoCloseable {
        private final FileInputStream in;
        private final java.io.FileOutputStream out;
        private boolean echoOff;

        private TtyChannel(FileInputStream in, java.io.FileOutputStream out) {
            this.in = in;
            this.out = out;
        }

        static TtyChannel open() {
            try {
                return new TtyChannel(new FileInputStream("/dev/tty"), new java.io.FileOutputStream("/dev/tty"));
            } catch (IOException e) {
                return null;
            }
        }

        void write(String s) throws CliException {
            try {
                out.write(s.getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                throw new CliException("cannot write to the terminal: " + e.getMessage());
            }
        }

        char[] readLine(boolean hidden) throws CliException {
            if (hidden) {
                stty("-echo");
                echoOff = true;
            }
            char[] buf = new char[256];
            int n = 0;
            try {
                Reader r = new InputStreamReader(in, StandardCharsets.UTF_8);
                int c;
                while ((c = r.read()) >= 0 && c != '\n') {
                    if (c == '\r') {
                        continue;
                    }
                    if (n == buf.length) {
                        char[] bigger = Arrays.copyOf(buf, n * 2);
                        Arrays.fill(buf, '\0');
                        buf = bigger;
                    }
                    buf[n++] = (char) c;
                }
                return Arrays.copyOf(buf, n);
            } catch (IOException e) {
                throw new CliException("cannot read from the terminal: " + e.getMessage());
            } finally {
                Arrays.fill(buf, '\0');
                if (hidden) {
                    write("\n");
                }
            }
        }

        private static void stty(String mode) {
            try {
                new ProcessBuilder("stty", mode)
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/tty")))
                        .start().waitFor();
            } catch (IOException e) {
                // no stty: the read still works, with echo
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() {
            if (echoOff) {
                stty("echo");
            }
            try {
                in.close();
                out.close();
            } catch (IOException ignored) {
                // closing the tty cannot lose anything
            }
        }
    }
}
