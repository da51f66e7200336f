# paths.sh — program paths a test script is given.
#
# absolute PATH: PATH made absolute when it names a file here, so the
# program is still found after the script enters a namespace or another
# folder; a command with words (a wrapper such as "valgrind ./connscope")
# or a name for PATH lookup is left as it is.
absolute() {
	case $1 in
	*" "*) printf '%s' "$1" ;;
	/*) printf '%s' "$1" ;;
	*) if [ -e "$1" ]; then printf '%s/%s' "$PWD" "$1"; else printf '%s' "$1"; fi ;;
	esac
}
