package dev.brokerctl.cli;

import dev.brokerctl.vault.Names;
import dev.brokerctl.vault.SecretValue;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import dev.brokerctl.vault.dotenv.DotenvEntry;
import dev.brokerctl.vault.dotenv.DotenvException;
import dev.brokerctl.vault.dotenv.DotenvParser;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "import", description = {
    "Store every variable of a dotenv file in an environment, in one transaction.",
    "Comments, 'export ', quotes and multi-line quoted values are understood; $${VAR} is not expanded.",
    "By default the file is read as npm dotenv reads it (--syntax dotenv), so the value stored is the one a Node"
        + " application saw; --syntax shell reads it as a POSIX shell, docker compose or python-dotenv would.",
    "A line the two read differently (a # without a blank before it, an escape in double quotes, backticks) gets a"
        + " warning naming the line and the value's length."})
final class ImportCommand extends VaultCommand {

    /** A dotenv file larger than this is surely not one. */
    static final int MAX_FILE_BYTES = 16 * 1024 * 1024;

    @Parameters(index = "0", paramLabel = "ENV")
    String environment;

    @Parameters(index = "1", paramLabel = "FILE")
    Path file;

    @Option(names = "--syntax", paramLabel = "dotenv|shell", defaultValue = "dotenv",
            description = "Whose reading of the forms where loaders disagree to take (default: ${DEFAULT-VALUE}).")
    String syntax;

    @Option(names = "--shred", description = "After the import committed, overwrite the file with"
            + " zeros and delete it (best effort on SSDs and copy-on-write file systems).")
    boolean shred;

    @Override
    public Integer call() throws Exception {
        Names.checkEnvironment(environment);
        DotenvParser.Syntax chosen = DotenvParser.Syntax.parse(syntax);
        byte[] content = read(file);
        DotenvParser.Result parsed;
        try {
            parsed = DotenvParser.parse(content, chosen);
        } catch (DotenvException e) {
            throw new CliException(file + ": " + e.getMessage() + "; nothing was imported");
        } finally {
            Arrays.fill(content, (byte) 0);
        }
        List<DotenvEntry> entries = parsed.entries();
        Map<String, SecretValue> values = new LinkedHashMap<>();
        try {
            for (DotenvEntry e : entries) {
                if (e.valueLength() > SecretValue.MAX_BYTES) {
                    throw new CliException(file + ": line " + e.line() + ": the value of " + e.name()
                            + " is longer than 64 KiB, the limit; nothing was imported");
                }
                values.put(e.name(), SecretValue.copyOf(e.valueBytes()));
            }
            if (values.isEmpty()) {
                throw new CliException(file + " holds no variables; nothing was imported");
            }
            try (VaultSession s = unlock()) {
                s.putAll(environment, values, AuditRecord.of(AuditEvent.IMPORTED, environment,
                        AuditDetails.of(AuditDetails.VARIABLES, new ArrayList<>(values.keySet()),
                                AuditDetails.SOURCE, file.getFileName().toString())));
            }
        } finally {
            entries.forEach(DotenvEntry::destroy);
            values.values().forEach(SecretValue::destroy);
        }
        out().printf("imported %d variables into %s: %s%n", values.size(), environment,
                String.join(", ", values.keySet()));
        for (DotenvParser.Note n : parsed.notes()) {
            err().printf("brokerctl: warning: %s line %d (%s, %d bytes stored): %s%n", file, n.line(), n.name(),
                    n.valueLength(), n.text());
        }
        for (String dup : parsed.duplicateNames()) {
            err().printf("brokerctl: warning: %s appears more than once in %s; the last one was"
                    + " imported%n", dup, file);
        }
        List<String> shortOnes = new ArrayList<>();
        for (DotenvEntry e : entries) {
            if (e.valueLength() < 4) {
                shortOnes.add(e.name());
            }
        }
        if (!shortOnes.isEmpty()) {
            err().printf("brokerctl: warning: values shorter than 4 bytes are not masked in command"
                    + " output: %s%n", String.join(", ", shortOnes));
        }
        if (shred) {
            shred(file);
            out().printf("shredded %s%n", file);
        }
        return ExitCodes.OK;
    }

    private static byte[] read(Path file) throws CliException {
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new CliException(file + " is " + size + " bytes; a dotenv file over 16 MiB is"
                        + " refused");
            }
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new CliException(file + " does not exist; nothing was imported");
        } catch (IOException e) {
            throw new CliException("cannot read " + file + ": " + e.getMessage());
        }
    }

    /** Overwrites the file's bytes with zeros, forces them to disk, then deletes it. */
    static void shred(Path file) throws CliException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            long size = ch.size();
            java.nio.ByteBuffer zeros = java.nio.ByteBuffer.allocate(8192);
            long written = 0;
            while (written < size) {
                zeros.clear();
                zeros.limit((int) Math.min(zeros.capacity(), size - written));
                written += ch.write(zeros, written);
            }
            ch.force(true);
        } catch (IOException e) {
            throw new CliException("the import committed, but overwriting " + file + " failed: "
                    + e.getMessage() + "; delete it yourself");
        }
        try {
            Files.delete(file);
        } catch (IOException e) {
            throw new CliException("the import committed and " + file + " was overwritten, but"
                    + " deleting it failed: " + e.getMessage());
        }
    }
}
