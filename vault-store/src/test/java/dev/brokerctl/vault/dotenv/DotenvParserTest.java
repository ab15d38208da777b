package dev.brokerctl.vault.dotenv;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DotenvParserTest {

    /** A secret that must never show up in messages or toString, not even in part. */
    static final String CANARY = "Zq9Xk4Vw7PlM3rTy";

    // ---------------------------------------------------------------- helpers

    static DotenvParser.Result parse(String text) throws DotenvException {
        return DotenvParser.parse(text.getBytes(UTF_8));
    }

    static DotenvEntry entry(DotenvParser.Result result, String name) {
        for (DotenvEntry e : result.entries()) {
            if (e.name().equals(name)) {
                return e;
            }
        }
        return fail("no entry named " + name + " in " + result);
    }

    static void assertValue(String expected, DotenvParser.Result result, String name) {
        assertArrayEquals(expected.getBytes(UTF_8), entry(result, name).valueBytes(),
                () -> "value of " + name);
    }

    /** Parses a one-entry file and returns that entry's value as UTF-8 text. */
    static String only(String text) throws DotenvException {
        DotenvParser.Result result = parse(text);
        assertEquals(1, result.entries().size(), () -> "entries of " + result);
        return new String(result.entries().get(0).valueBytes(), UTF_8);
    }

    static DotenvException fails(String text) {
        return assertThrows(DotenvException.class, () -> parse(text));
    }

    static List<String> names(DotenvParser.Result result) {
        return result.entries().stream().map(DotenvEntry::name).collect(Collectors.toList());
    }

    /** Fails if {@code text} contains the canary or any 4-character piece of it. */
    static void assertNoCanary(String text) {
        for (int i = 0; i + 4 <= CANARY.length(); i++) {
            String piece = CANARY.substring(i, i + 4);
            assertFalse(text.contains(piece),
                    () -> "leaked canary fragment '" + piece + "' in: " + text);
        }
    }

    // ---------------------------------------------------------------- basics

    @Nested
    class Basics {

        @Test
        void emptyInput_yieldsNoEntries() throws DotenvException {
            DotenvParser.Result result = DotenvParser.parse(new byte[0]);
            assertTrue(result.entries().isEmpty());
            assertTrue(result.duplicateNames().isEmpty());
        }

        @Test
        void simpleEntries_inFileOrderWithLineNumbers() throws DotenvException {
            DotenvParser.Result result = parse("A=1\nB=two\nC_3=three\n");
            assertEquals(List.of("A", "B", "C_3"), names(result));
            assertEquals(1, entry(result, "A").line());
            assertEquals(2, entry(result, "B").line());
            assertEquals(3, entry(result, "C_3").line());
            assertValue("1", result, "A");
            assertValue("two", result, "B");
            assertValue("three", result, "C_3");
        }

        @Test
        void lastLineWithoutNewline_isParsed() throws DotenvException {
            assertEquals("v", only("A=v"));
        }

        @Test
        void blankLinesAndComments_areSkippedButCounted() throws DotenvException {
            DotenvParser.Result result = parse(
                    "\n# a comment\n   \n\t# indented comment\n#NOT_AN_ENTRY=x\nA=1\n\n");
            assertEquals(List.of("A"), names(result));
            assertEquals(6, entry(result, "A").line());
        }

        @Test
        void commentOnlyFile_yieldsNoEntries() throws DotenvException {
            assertTrue(parse("# only\n# comments").entries().isEmpty());
        }

        @Test
        void leadingWhitespace_isAllowed() throws DotenvException {
            DotenvParser.Result result = parse("  A=1\n\tB=2\n \t C=3\n");
            assertEquals(List.of("A", "B", "C"), names(result));
            assertValue("3", result, "C");
        }

        @Test
        void spacesAroundEquals_areIgnored() throws DotenvException {
            DotenvParser.Result result = parse("A = 1\nB\t=\t2\nC   =3\nD=   4\n");
            assertValue("1", result, "A");
            assertValue("2", result, "B");
            assertValue("3", result, "C");
            assertValue("4", result, "D");
        }

        @Test
        void exportPrefix_isStripped() throws DotenvException {
            DotenvParser.Result result = parse("export A=1\n  export\tB = 2\nexport   C='3'\n");
            assertEquals(List.of("A", "B", "C"), names(result));
            assertValue("2", result, "B");
            assertValue("3", result, "C");
        }

        @Test
        void exportFollowedByEquals_isAVariableNamedExport() throws DotenvException {
            DotenvParser.Result result = parse("export=1\n");
            assertEquals(List.of("export"), names(result));
            assertEquals("2", only("export = 2"));
        }

        @Test
        void namesStartingWithExport_areNotPrefixes() throws DotenvException {
            DotenvParser.Result result = parse("exporter=1\nEXPORT_X=2\n");
            assertEquals(List.of("exporter", "EXPORT_X"), names(result));
        }

        @Test
        void nameRules_acceptUnderscoreMixedCaseAndDigits() throws DotenvException {
            DotenvParser.Result result = parse("_=1\n_9=2\naBc_D9=3\n");
            assertEquals(List.of("_", "_9", "aBc_D9"), names(result));
        }

        @Test
        void nameOf128Characters_isAccepted() throws DotenvException {
            String name = "N" + "x".repeat(127);
            assertEquals(List.of(name), names(parse(name + "=v")));
        }

        @Test
        void emptyValues_areEmptyArrays() throws DotenvException {
            DotenvParser.Result result = parse("A=\nB=\"\"\nC=''\nD=   \nE= # comment\n");
            for (String name : List.of("A", "B", "C", "D", "E")) {
                assertEquals(0, entry(result, name).valueBytes().length, name);
            }
        }

        @Test
        void utf8Bom_atStart_isSkipped() throws DotenvException {
            byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
            byte[] rest = "A=1\nB=2\n".getBytes(UTF_8);
            byte[] input = new byte[bom.length + rest.length];
            System.arraycopy(bom, 0, input, 0, 3);
            System.arraycopy(rest, 0, input, 3, rest.length);
            DotenvParser.Result result = DotenvParser.parse(input);
            assertEquals(List.of("A", "B"), names(result));
            assertEquals(1, entry(result, "A").line());
        }

        @Test
        void utf8Bom_alone_yieldsNoEntries() throws DotenvException {
            byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
            assertTrue(DotenvParser.parse(bom).entries().isEmpty());
        }

        @Test
        void crlfFile_parsesLikeLfFile() throws DotenvException {
            DotenvParser.Result result =
                    parse("# c\r\nA=1\r\n\r\nB = two words \r\nC='x'\r\nD=\"y\"  # c\r\nE=\r\n");
            assertEquals(List.of("A", "B", "C", "D", "E"), names(result));
            assertValue("1", result, "A");
            assertValue("two words", result, "B");
            assertValue("x", result, "C");
            assertValue("y", result, "D");
            assertValue("", result, "E");
            assertEquals(2, entry(result, "A").line());
            assertEquals(4, entry(result, "B").line());
            assertEquals(7, entry(result, "E").line());
        }

        @Test
        void loneCarriageReturn_isALineBreak() throws DotenvException {
            DotenvParser.Result result = parse("A=1\rB=2\r");
            assertEquals(List.of("A", "B"), names(result));
            assertValue("1", result, "A");
            assertEquals(2, entry(result, "B").line());
        }

        @Test
        void result_listsAreUnmodifiable() throws DotenvException {
            DotenvParser.Result result = parse("A=1\nA=2\n");
            assertThrows(UnsupportedOperationException.class, () -> result.entries().clear());
            assertThrows(UnsupportedOperationException.class,
                    () -> result.duplicateNames().clear());
        }

        @Test
        void nullInput_isACallerBug() {
            assertThrows(NullPointerException.class, () -> DotenvParser.parse(null));
        }

        @Test
        void input_isNotModified() throws DotenvException {
            byte[] input = "A=1\nB=\"x\\ny\"\n".getBytes(UTF_8);
            byte[] copy = input.clone();
            DotenvParser.parse(input);
            assertArrayEquals(copy, input);
        }
    }

    // ---------------------------------------------------------------- unquoted values

    @Nested
    class Unquoted {

        @Test
        void unquoted_isTrimmed() throws DotenvException {
            assertEquals("value", only("A=  \tvalue \t "));
        }

        @Test
        void unquoted_keepsInnerWhitespace() throws DotenvException {
            assertEquals("a b \t c", only("A=a b \t c  "));
        }

        @Test
        void unquotedInlineComment_afterSpace_isRemoved() throws DotenvException {
            assertEquals("abc", only("A=abc # a comment"));
        }

        @Test
        void unquotedInlineComment_afterTab_isRemoved() throws DotenvException {
            assertEquals("abc", only("A=abc\t# a comment"));
        }

        @Test
        void unquotedHash_withoutPrecedingWhitespace_isKept() throws DotenvException {
            assertEquals("abc#def", only("A=abc#def"));
        }

        @Test
        void unquotedHash_atValueStartRightAfterEquals_isKept() throws DotenvException {
            assertEquals("#abc", only("A=#abc"));
        }

        @Test
        void unquotedHash_afterSpaceFollowingEquals_isAComment() throws DotenvException {
            assertEquals("", only("A= #abc"));
        }

        @Test
        void unquotedInlineComment_startsAtFirstSpaceHash() throws DotenvException {
            assertEquals("a#b", only("A=a#b #c #d"));
        }

        @Test
        void unquoted_processesNoEscapes() throws DotenvException {
            assertEquals("a\\nb\\tc\\\\", only("A=a\\nb\\tc\\\\"));
        }

        @Test
        void unquoted_keepsQuotesThatDoNotStartTheValue() throws DotenvException {
            assertEquals("abc\"def'", only("A=abc\"def'"));
            assertEquals("x \"y\"", only("A=x \"y\""));
        }

        @Test
        void unquoted_keepsEqualsSigns() throws DotenvException {
            assertEquals("a=b==", only("A=a=b=="));
        }

        @Test
        void unquotedVariableReference_isNotExpanded() throws DotenvException {
            assertEquals("${HOME}/x:$PATH", only("A=${HOME}/x:$PATH"));
        }

        @Test
        void backticks_areNotQuotes() throws DotenvException {
            assertEquals("`x y`", only("A=`x y`"));
        }
    }

    // ---------------------------------------------------------------- single quotes

    @Nested
    class SingleQuoted {

        @Test
        void singleQuoted_isLiteral() throws DotenvException {
            assertEquals("a\\nb \\t \"c\" ${X} $Y \\", only("A='a\\nb \\t \"c\" ${X} $Y \\'"));
        }

        @Test
        void singleQuoted_keepsSurroundingWhitespace() throws DotenvException {
            assertEquals("  x  ", only("A='  x  '"));
        }

        @Test
        void singleQuoted_keepsHash() throws DotenvException {
            assertEquals("a # b #c", only("A='a # b #c'"));
        }

        @Test
        void singleQuotedMultiLine_keepsNewlines() throws DotenvException {
            DotenvParser.Result result = parse("A='line1\nline2\n\nline4'\nB=after\n");
            assertValue("line1\nline2\n\nline4", result, "A");
            assertEquals(1, entry(result, "A").line());
            assertEquals(5, entry(result, "B").line());
        }

        @Test
        void singleQuotedMultiLine_crlfBecomesLf() throws DotenvException {
            DotenvParser.Result result = parse("A='l1\r\nl2'\r\nB=x\r\n");
            assertValue("l1\nl2", result, "A");
            assertEquals(3, entry(result, "B").line());
        }

        @Test
        void singleQuoted_followedByComment_isAccepted() throws DotenvException {
            assertEquals("x", only("A='x'   # comment"));
            assertEquals("x", only("A='x'# comment"));
            assertEquals("x", only("A='x' \t "));
        }

        @Test
        void singleQuoted_afterSpacesFollowingEquals() throws DotenvException {
            assertEquals(" x", only("A =   ' x'"));
        }
    }

    // ---------------------------------------------------------------- double quotes

    @Nested
    class DoubleQuoted {

        @Test
        void doubleQuoted_plain() throws DotenvException {
            assertEquals("hello world", only("A=\"hello world\""));
        }

        @Test
        void doubleQuoted_processesKnownEscapes() throws DotenvException {
            assertEquals("n\nr\rt\tb\\q\"s'd$",
                    only("A=\"n\\nr\\rt\\tb\\\\q\\\"s\\'d\\$\""));
        }

        @Test
        void doubleQuotedUnknownEscape_keepsBackslash() throws DotenvException {
            assertEquals("\\a\\x\\0\\u0041\\ ", only("A=\"\\a\\x\\0\\u0041\\ \""));
        }

        @Test
        void doubleQuoted_escapedBackslashBeforeClosingQuote() throws DotenvException {
            assertEquals("C:\\dir\\", only("A=\"C:\\\\dir\\\\\""));
        }

        @Test
        void doubleQuoted_escapedQuote_doesNotCloseValue() throws DotenvException {
            assertEquals("say \"hi\" # not a comment", only("A=\"say \\\"hi\\\" # not a comment\""));
        }

        @Test
        void doubleQuotedMultiLine_keepsNewlines() throws DotenvException {
            DotenvParser.Result result = parse("A=\"line1\nline2\n\n  line4\"\nB=after\n");
            assertValue("line1\nline2\n\n  line4", result, "A");
            assertEquals(5, entry(result, "B").line());
        }

        @Test
        void doubleQuotedMultiLine_crlfBecomesLf() throws DotenvException {
            DotenvParser.Result result = parse("A=\"l1\r\nl2\r\n\"\r\nB=x\r\n");
            assertValue("l1\nl2\n", result, "A");
            assertEquals(4, entry(result, "B").line());
        }

        @Test
        void doubleQuoted_escapedCarriageReturn_isKept() throws DotenvException {
            assertEquals("a\r\nb", only("A=\"a\\r\\nb\""));
        }

        @Test
        void doubleQuoted_backslashBeforeLineBreak_isKeptWithTheBreak() throws DotenvException {
            DotenvParser.Result result = parse("A=\"a\\\r\nb\"\nB=x\n");
            assertValue("a\\\nb", result, "A");
            assertEquals(3, entry(result, "B").line());
        }

        @Test
        void doubleQuoted_variableReference_isNotExpanded() throws DotenvException {
            assertEquals("${OTHER} and $OTHER and $", only("A=\"${OTHER} and $OTHER and \\$\""));
        }

        @Test
        void doubleQuoted_followedByComment_isAccepted() throws DotenvException {
            assertEquals("x", only("A=\"x\"  # comment"));
            assertEquals("x", only("A=\"x\"#comment"));
            assertEquals("x", only("A=\"x\"\t"));
        }

        @Test
        void doubleQuoted_singleQuoteInside_isLiteral() throws DotenvException {
            assertEquals("it's", only("A=\"it's\""));
        }

        @Test
        void singleQuoted_doubleQuoteInside_isLiteral() throws DotenvException {
            assertEquals("say \"x\"", only("A='say \"x\"'"));
        }
    }

    // ---------------------------------------------------------------- bytes

    @Nested
    class Bytes {

        @Test
        void invalidUtf8_inValues_isKeptAsBytes() throws DotenvException {
            ByteArrayOutputStream file = new ByteArrayOutputStream();
            byte[] junk = {(byte) 0xFF, (byte) 0xC3, 0x00, (byte) 0x80};
            file.writeBytes("A=".getBytes(UTF_8));
            file.writeBytes(junk);
            file.writeBytes("\nB='".getBytes(UTF_8));
            file.writeBytes(junk);
            file.writeBytes("'\nC=\"".getBytes(UTF_8));
            file.writeBytes(junk);
            file.writeBytes("\"\n".getBytes(UTF_8));
            DotenvParser.Result result = DotenvParser.parse(file.toByteArray());
            for (String name : List.of("A", "B", "C")) {
                assertArrayEquals(junk, entry(result, name).valueBytes(), name);
            }
        }

        @Test
        void utf8Text_inValues_isKeptAsIs() throws DotenvException {
            assertEquals("pässwörd ✓ 密码", only("A=pässwörd ✓ 密码"));
            assertEquals("naïve", only("A=\"naïve\""));
        }

        @Test
        void value_of64KiB_isParsed() throws DotenvException {
            String big = "x".repeat(DotenvParser.MAX_VALUE_BYTES);
            DotenvParser.Result result = parse("A=" + big + "\nB=\"" + big + "\"\n");
            assertEquals(DotenvParser.MAX_VALUE_BYTES, entry(result, "A").valueLength());
            assertEquals(DotenvParser.MAX_VALUE_BYTES, entry(result, "B").valueLength());
        }

        @Test
        void largeFile_isParsed() throws DotenvException {
            StringBuilder file = new StringBuilder();
            for (int i = 0; i < 20_000; i++) {
                file.append("K").append(i).append("=\"").append("v".repeat(100)).append("\"\n");
            }
            DotenvParser.Result result = parse(file.toString());
            assertEquals(20_000, result.entries().size());
            assertEquals(20_000, entry(result, "K19999").line());
        }
    }

    // ---------------------------------------------------------------- duplicates

    @Nested
    class Duplicates {

        @Test
        void duplicateName_lastOneWins() throws DotenvException {
            DotenvParser.Result result = parse("A=first\nB=b\nA=second\n");
            assertValue("second", result, "A");
            assertEquals(3, entry(result, "A").line());
            assertEquals(List.of("A"), result.duplicateNames());
        }

        @Test
        void duplicateName_onlyLastOccurrenceIsReturned_inFileOrder() throws DotenvException {
            DotenvParser.Result result = parse("A=1\nB=2\nA=3\nC=4\nB=5\nA=6\n");
            assertEquals(List.of("C", "B", "A"), names(result));
        }

        @Test
        void duplicateNames_listedOnceInOrderOfFirstRepetition() throws DotenvException {
            DotenvParser.Result result = parse("A=1\nB=2\nB=3\nA=4\nA=5\n");
            assertEquals(List.of("B", "A"), result.duplicateNames());
        }

        @Test
        void duplicateName_withExportAndQuotes_isStillADuplicate() throws DotenvException {
            DotenvParser.Result result = parse("export A='1'\nA=\"2\"\n");
            assertValue("2", result, "A");
            assertEquals(List.of("A"), result.duplicateNames());
        }

        @Test
        void namesDifferingInCase_areDistinct() throws DotenvException {
            DotenvParser.Result result = parse("a=1\nA=2\n");
            assertEquals(List.of("a", "A"), names(result));
            assertTrue(result.duplicateNames().isEmpty());
        }

        @Test
        void noDuplicates_emptyList() throws DotenvException {
            assertTrue(parse("A=1\nB=2\n").duplicateNames().isEmpty());
        }
    }

    // ---------------------------------------------------------------- errors

    @Nested
    class Errors {

        void assertError(int line, String text, String... messageParts) {
            DotenvException e = fails(text);
            assertEquals(line, e.line(), () -> "line of: " + e.getMessage());
            assertTrue(e.getMessage().startsWith("line " + line + ": "), e.getMessage());
            for (String part : messageParts) {
                assertTrue(e.getMessage().contains(part),
                        () -> "expected '" + part + "' in: " + e.getMessage());
            }
            assertNull(e.getCause());
        }

        @ParameterizedTest
        @ValueSource(strings = {
            "1ABC=x", "A-B=x", "A.B=x", "=x", " = x", "A:x", "A: x", "A\"=x", "NAMEÄ=x",
            "ÄNAME=x", "$A=x", "A$=x", "export 9A=x", "-=x"})
        void invalidName_isAnErrorOnItsLine(String badLine) {
            assertError(3, "OK=1\n# c\n" + badLine + "\nLATER=2\n", "invalid variable name",
                    "[A-Za-z_][A-Za-z0-9_]{0,127}");
        }

        @Test
        void nameLongerThan128_isAnError() {
            String name = "N" + "x".repeat(128);
            DotenvException e = fails("A=1\n" + name + "=v\n");
            assertEquals(2, e.line());
            assertTrue(e.getMessage().contains("129 characters"), e.getMessage());
            assertFalse(e.getMessage().contains(name), e.getMessage());
        }

        @ParameterizedTest
        @ValueSource(strings = {"FOO", "  FOO  ", "export FOO", "FOO # comment", "export"})
        void lineWithoutEquals_isAnError(String badLine) {
            assertError(2, "A=1\n" + badLine + "\n", "no '=' found", "NAME=value");
        }

        @Test
        void nameFollowedByAnotherWord_isAnError() {
            assertError(1, "FOO BAR=x\n", "expected '=' after the variable name");
        }

        @Test
        void utf8BomNotAtStart_isAnInvalidName() {
            assertError(2, "A=1\n\uFEFFB=2\n", "invalid variable name");
        }

        @Test
        void unterminatedDoubleQuote_namesLineWhereValueStarted() {
            assertError(3, "A=1\n\nAPI_KEY=\"abc\nB=2\nC=3\n",
                    "unterminated double-quoted value for API_KEY", "close the quote");
        }

        @Test
        void unterminatedSingleQuote_namesLineWhereValueStarted() {
            assertError(2, "A=1\nAPI_KEY='abc\nB=2\n",
                    "unterminated single-quoted value for API_KEY", "close the quote");
        }

        @Test
        void unterminatedDoubleQuote_escapedQuoteAtEnd() {
            assertError(1, "A=\"abc\\\"\n", "unterminated double-quoted value for A");
        }

        @Test
        void unterminatedDoubleQuote_backslashAtEndOfInput() {
            assertError(1, "A=\"abc\\", "unterminated double-quoted value for A");
        }

        @Test
        void unterminatedQuote_justTheQuote() {
            assertError(1, "A=\"", "unterminated double-quoted value for A");
            assertError(1, "A='", "unterminated single-quoted value for A");
        }

        @Test
        void textAfterClosingDoubleQuote_isAnError() {
            assertError(2, "A=1\nB=\"x\" y\n", "unexpected text after the closing double quote of B",
                    "\\\"");
        }

        @Test
        void textAfterClosingSingleQuote_isAnError() {
            assertError(1, "B='x'y\n", "unexpected text after the closing single quote of B",
                    "double quotes");
        }

        @Test
        void secondQuotedPart_isAnError() {
            assertError(1, "B=\"x\" \"y\"\n", "unexpected text after the closing double quote");
        }

        @Test
        void textAfterMultiLineValue_namesTheLineOfTheTextAndTheStartLine() {
            assertError(3, "A=\"one\ntwo\nthree\" oops\n",
                    "closing double quote of A (the value starts on line 1)");
        }

        @Test
        void missingClosingQuote_thatAnotherValueCloses_isReported() {
            // A's quote is never closed, so it swallows B and is closed by C's first quote.
            assertError(3, "A=\"abc\nB=def\nC=\"x\"\n",
                    "closing double quote of A (the value starts on line 1)");
        }

        @Test
        void crlfFile_errorLineIsCounted() {
            assertError(3, "A=1\r\nB=2\r\nBAD LINE\r\nC=3\r\n", "expected '='");
        }

        @Test
        void loneCrFile_errorLineIsCounted() {
            assertError(2, "A=1\rBAD\rC=3\r", "no '='");
        }

        @Test
        void bomFile_errorLineIsCounted() {
            byte[] input = "\uFEFFA=1\n1B=2\n".getBytes(UTF_8);
            DotenvException e = assertThrows(DotenvException.class,
                    () -> DotenvParser.parse(input));
            assertEquals(2, e.line());
        }

        @Test
        void errorAfterMultiLineValue_countsItsLines() {
            assertError(5, "PEM=\"a\nb\nc\"\nOK=1\n2BAD=x\n", "invalid variable name");
        }

        @Test
        void dotenvException_isChecked() {
            assertTrue(Exception.class.isAssignableFrom(DotenvException.class));
            assertFalse(RuntimeException.class.isAssignableFrom(DotenvException.class));
        }
    }

    // ---------------------------------------------------------------- secrecy

    @Nested
    class Secrecy {

        @ParameterizedTest
        @ValueSource(strings = {
            // quote errors: the value (and what follows) must not be echoed
            "API_KEY=\"" + CANARY + "\nB=" + CANARY + "\n",
            "API_KEY='" + CANARY,
            "API_KEY=\"" + CANARY + "\\\"",
            "API_KEY=\"" + CANARY + "\" " + CANARY,
            "API_KEY='" + CANARY + "'" + CANARY,
            "API_KEY=\"x\"" + CANARY,
            // name errors: nothing from the line is echoed, it may be a pasted token
            CANARY,
            "  " + CANARY + "  ",
            "export " + CANARY,
            CANARY + " " + CANARY,
            CANARY + "-" + CANARY + "=" + CANARY,
            "1" + CANARY + "=" + CANARY,
            "sk-" + CANARY,
            CANARY + ": " + CANARY,
            CANARY + CANARY + CANARY + CANARY + CANARY + CANARY + CANARY + CANARY + CANARY
                    + "=v",
            // an error after a good entry holding the canary
            "API_KEY=" + CANARY + "\nBAD LINE\n",
            "API_KEY=\"" + CANARY + "\"\n=x\n",
        })
        void errorMessage_neverContainsValue(String file) {
            DotenvException e = fails(file);
            assertNoCanary(e.getMessage());
            assertNoCanary(e.toString());
            assertNoCanary(String.valueOf(e.getLocalizedMessage()));
            assertNull(e.getCause());
            assertEquals(0, e.getSuppressed().length);
        }

        @Test
        void entryToString_showsNameAndLengthOnly() throws DotenvException {
            DotenvParser.Result result = parse("API_KEY=\"" + CANARY + "\"\n");
            DotenvEntry entry = result.entries().get(0);
            String text = entry.toString();
            assertNoCanary(text);
            assertTrue(text.contains("API_KEY"), text);
            assertTrue(text.contains(String.valueOf(CANARY.length())), text);
        }

        @Test
        void resultToString_neverContainsValues() throws DotenvException {
            DotenvParser.Result result = parse(
                    "A=" + CANARY + "\nB='" + CANARY + "'\nC=\"" + CANARY + "\"\nA=" + CANARY);
            String text = result.toString();
            assertNoCanary(text);
            assertTrue(text.contains("A") && text.contains("B") && text.contains("C"), text);
        }

        @Test
        void canaryHelper_detectsFragments() {
            // Guards the guard: a message with a piece of the canary must fail the check.
            assertThrows(AssertionError.class,
                    () -> assertNoCanary("line 1: oops " + CANARY.substring(5, 10)));
        }
    }

    // ---------------------------------------------------------------- realistic file

    @Nested
    class Realistic {

        static final String PEM_BODY = "-----BEGIN PRIVATE KEY-----\n"
                + "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
                + "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
                + "NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ\n"
                + "-----END PRIVATE KEY-----";

        static final String FILE = "# Application secrets -- do not commit\n"
                + "\n"
                + "export DATABASE_URL=postgres://app:" + CANARY + "@db.internal:5432/app\n"
                + "OPENAI_API_KEY = sk-proj-" + CANARY + "  # rotated 2024-05\n"
                + "  STRIPE_SECRET='sk_live_" + CANARY + "'\n"
                + "GREETING=\"Hello,\\tworld!\\n\"\n"
                + "EMPTY=\n"
                + "PRIVATE_KEY=\"" + PEM_BODY + "\n\"\n"
                + "AFTER_KEY=${DATABASE_URL}\n"
                + "# DISABLED=old-value\n"
                + "OPENAI_API_KEY=sk-proj-new-" + CANARY + "\n";

        @Test
        void realisticFile_parsesEveryEntry() throws DotenvException {
            DotenvParser.Result result = parse(FILE);
            assertEquals(List.of("DATABASE_URL", "STRIPE_SECRET", "GREETING", "EMPTY",
                    "PRIVATE_KEY", "AFTER_KEY", "OPENAI_API_KEY"), names(result));
            assertValue("postgres://app:" + CANARY + "@db.internal:5432/app", result,
                    "DATABASE_URL");
            assertValue("sk_live_" + CANARY, result, "STRIPE_SECRET");
            assertValue("Hello,\tworld!\n", result, "GREETING");
            assertValue("", result, "EMPTY");
            assertValue("${DATABASE_URL}", result, "AFTER_KEY");
            assertValue("sk-proj-new-" + CANARY, result, "OPENAI_API_KEY");
            assertEquals(List.of("OPENAI_API_KEY"), result.duplicateNames());
        }

        @Test
        void pemPrivateKey_inDoubleQuotes_spansLines() throws DotenvException {
            DotenvParser.Result result = parse(FILE);
            assertValue(PEM_BODY + "\n", result, "PRIVATE_KEY");
            assertEquals(8, entry(result, "PRIVATE_KEY").line());
            assertEquals(14, entry(result, "AFTER_KEY").line());
            assertEquals(16, entry(result, "OPENAI_API_KEY").line());
        }

        @Test
        void pemPrivateKey_inCrlfFile_hasLfLineBreaks() throws DotenvException {
            DotenvParser.Result result = parse(FILE.replace("\n", "\r\n"));
            assertValue(PEM_BODY + "\n", result, "PRIVATE_KEY");
            assertEquals(14, entry(result, "AFTER_KEY").line());
        }

        @Test
        void pemPrivateKey_withEscapedNewlinesOnOneLine_isTheSameKey() throws DotenvException {
            String oneLine = PEM_BODY.replace("\n", "\\n");
            assertEquals(PEM_BODY, only("PRIVATE_KEY=\"" + oneLine + "\""));
        }

        @Test
        void realisticFile_withUnclosedPem_failsAtKeyLineWithoutLeaking() {
            String broken = FILE.replace("\n\"\nAFTER_KEY", "\nAFTER_KEY");
            DotenvException e = fails(broken);
            // No later line holds a double quote, so the PEM value runs to the end of the file.
            assertEquals(8, e.line());
            assertNoCanary(e.getMessage());
            assertFalse(e.getMessage().contains("MIIE"), e.getMessage());
            assertFalse(e.getMessage().contains("PRIVATE KEY-"), e.getMessage());
        }
    }
}
