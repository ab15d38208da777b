#!/bin/sh
# Installs brokerctl from this build tree: the launcher and jars, AppCDS archives built in place,
# shell completion (bash, zsh, fish) and a man page. `bin/install.sh --help` for the options.
#
#   PREFIX/lib/brokerctl/bin/brokerctl     the launcher (it finds lib/ beside it)
#   PREFIX/lib/brokerctl/lib/*.jar, *.jsa  the jars and their AppCDS archives (brokerctl, run, mcp)
#   PREFIX/bin/brokerctl                   a symlink to the launcher
#   PREFIX/share/bash-completion/completions/brokerctl
#   PREFIX/share/zsh/site-functions/_brokerctl
#   PREFIX/share/fish/vendor_completions.d/brokerctl.fish
#   PREFIX/share/man/man1/brokerctl.1
#
# Run with sudo and --prefix /usr/local for a root-owned install: an agent running as you cannot
# replace what you cannot write.
set -eu

usage() {
    cat <<'EOF'
usage: bin/install.sh [--prefix DIR] [--uninstall]

Installs brokerctl from this build tree (build it first: mvn -B -q -DskipTests package).
  --prefix DIR   where to install (default: ~/.local); with sudo and --prefix /usr/local the
                 install is root-owned, which is recommended: an agent running as you cannot
                 replace a launcher or jar that you cannot write
  --uninstall    remove what an install into DIR put there (your vault and home are kept)
EOF
}

prefix=${HOME:-}/.local
uninstall=false
while [ $# -gt 0 ]; do
    case $1 in
        --prefix)
            [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory; see: bin/install.sh --help" >&2; exit 2; }
            prefix=$2
            shift 2
            ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --uninstall) uninstall=true; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option '$1'; see: bin/install.sh --help" >&2; exit 2 ;;
    esac
done
case $prefix in
    /*) ;;
    '') echo "install.sh: no prefix (HOME is not set); give one with --prefix DIR" >&2; exit 2 ;;
    *) prefix=$(pwd -P)/$prefix ;;
esac

dest=$prefix/lib/brokerctl
marker=$dest/.installed-by-brokerctl
link=$prefix/bin/brokerctl
bash_completion=$prefix/share/bash-completion/completions/brokerctl
zsh_completion=$prefix/share/zsh/site-functions/_brokerctl
fish_completion=$prefix/share/fish/vendor_completions.d/brokerctl.fish
manpage=$prefix/share/man/man1/brokerctl.1

if $uninstall; then
    if [ ! -f "$marker" ]; then
        echo "install.sh: no brokerctl install in $prefix ($marker is missing); nothing was removed" >&2
        exit 1
    fi
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$dest/bin/brokerctl" ]; then
        rm -f "$link"
    fi
    rm -f "$bash_completion" "$zsh_completion" "$fish_completion" "$manpage"
    rm -rf "$dest"
    echo "removed brokerctl from $prefix (the vault and the brokerctl home were not touched)"
    exit 0
fi

src=$(cd "$(dirname "$0")/.." && pwd -P)
target=$src/cli/target
for f in brokerctl.jar brokerctl-run.jar; do
    if [ ! -f "$target/$f" ]; then
        echo "install.sh: $target/$f is missing; build it first with: mvn -B -q -DskipTests package" >&2
        exit 1
    fi
done
if [ -n "${JAVA_HOME:-}" ]; then
    java=$JAVA_HOME/bin/java
else
    java=java
fi
if ! "$java" -version >/dev/null 2>&1; then
    echo "install.sh: no java found ($java); install a JDK 17 or set JAVA_HOME" >&2
    exit 1
fi
if [ -e "$dest" ] && [ ! -f "$marker" ]; then
    echo "install.sh: $dest exists and is not a brokerctl install; move it away first" >&2
    exit 1
fi

umask 022
# a fresh copy each time: no file of an earlier install (an archive made by another JVM) stays
rm -rf "$dest"
install -d "$dest/bin" "$dest/lib" "$prefix/bin" "${bash_completion%/*}" "${zsh_completion%/*}" \
    "${fish_completion%/*}" "${manpage%/*}"
install -m 0755 "$src/bin/brokerctl" "$dest/bin/brokerctl"
install -m 0644 "$target/brokerctl.jar" "$target/brokerctl-run.jar" "$dest/lib/"

# AppCDS archives only work for the JVM and the jar paths they were made with: make them here,
# with the launcher's flags, as the build does in cli/target.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
    cd "$work"
    env -u BROKERCTL_HOME -u BROKERCTL_SOCKET -u BROKERCTL_PASSPHRASE_FILE -u BROKERCTL_JAVA_OPTS \
        -u JAVA_TOOL_OPTIONS -u _JAVA_OPTIONS -u JDK_JAVA_OPTIONS \
        "$java" -XX:ArchiveClassesAtExit="$dest/lib/brokerctl.jsa" -XX:+UseSerialGC -XX:-UsePerfData \
        -XX:TieredStopAtLevel=1 -Xlog:disable -Xlog:all=error:stderr -jar "$dest/lib/brokerctl.jar" demo \
        >"$work/demo.txt" 2>&1 || echo "install.sh: note: no AppCDS archive for brokerctl.jar (start-up is slower); see $work/demo.txt" >&2
    env -u BROKERCTL_HOME -u BROKERCTL_SOCKET -u BROKERCTL_PASSPHRASE_FILE -u BROKERCTL_JAVA_OPTS \
        -u JAVA_TOOL_OPTIONS -u _JAVA_OPTIONS -u JDK_JAVA_OPTIONS \
        bash "$src/cli/src/build/train-run-archive.sh" "$java" "$dest/lib" >"$work/train.txt" 2>&1 \
        || echo "install.sh: note: no AppCDS archive for brokerctl-run.jar (brokerctl run starts slower)" >&2
    env -u BROKERCTL_HOME -u BROKERCTL_SOCKET -u BROKERCTL_PASSPHRASE_FILE -u BROKERCTL_JAVA_OPTS \
        -u JAVA_TOOL_OPTIONS -u _JAVA_OPTIONS -u JDK_JAVA_OPTIONS \
        bash "$src/cli/src/build/train-mcp-archive.sh" "$java" "$dest/lib" >"$work/train-mcp.txt" 2>&1 \
        || echo "install.sh: note: no AppCDS archive for brokerctl mcp (it starts slower)" >&2
)
chmod 0644 "$dest"/lib/*.jsa 2>/dev/null || true

files() {
    env -u JAVA_TOOL_OPTIONS -u _JAVA_OPTIONS -u JDK_JAVA_OPTIONS \
        "$java" -Xlog:disable -cp "$dest/lib/brokerctl.jar" dev.brokerctl.cli.InstallFiles "$@"
}
files bash >"$work/bash" && install -m 0644 "$work/bash" "$bash_completion"
files zsh "$bash_completion" >"$work/zsh" && install -m 0644 "$work/zsh" "$zsh_completion"
files fish >"$work/fish" && install -m 0644 "$work/fish" "$fish_completion"
files man >"$work/man" && install -m 0644 "$work/man" "$manpage"

ln -sfn "$dest/bin/brokerctl" "$link"
printf 'installed from %s\n' "$src" >"$marker"
chmod 0644 "$marker"

version=$("$link" --version 2>/dev/null || echo "brokerctl (version unknown)")
echo "installed $version into $prefix"
echo "  launcher:   $link -> $dest/bin/brokerctl"
echo "  completion: $bash_completion (bash), $zsh_completion (zsh), $fish_completion (fish)"
echo "  man page:   $manpage (man brokerctl)"
if [ "$(id -u)" != 0 ] && [ -w "$dest/lib/brokerctl.jar" ]; then
    echo "note: your user can write this install, so can an agent running as you; for a root-owned one:"
    echo "  sudo bin/install.sh --prefix /usr/local"
fi
case ":${PATH:-}:" in
    *":$prefix/bin:"*) ;;
    *)
        echo "$prefix/bin is not on your PATH; add it (then open a new shell):"
        echo "  echo 'export PATH=\"$prefix/bin:\$PATH\"' >> ~/.bashrc   # or ~/.zshrc; fish: fish_add_path $prefix/bin"
        ;;
esac
echo "remove it with: bin/install.sh --prefix $prefix --uninstall"
