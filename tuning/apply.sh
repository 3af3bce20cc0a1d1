#!/usr/bin/env bash
# apply.sh: put a wsgate tuning profile in force on this host, or take it back.
#
#   tuning/apply.sh PROFILE [--dry-run] [--revert] [--only netns|global|files]
#                           [--state DIR] [--root DIR] [--require-netns]
#
# PROFILE is a name under tuning/profiles (100k, 1m, 10m) or a directory
# holding sysctl.conf, limits.conf and wsgate.service.d.conf, such as the one
# `wsgate tune profile --target N --dir DIR` writes.
#
# The profile has three parts:
#   netns   sysctl keys held per network namespace (tuning/keys.conf)
#   global  sysctl keys held once per host
#   files   /etc/sysctl.d/90-wsgate.conf, /etc/security/limits.d/90-wsgate.conf
#           and, where systemd runs, /etc/systemd/system/wsgate.service.d/90-wsgate-tuning.conf
# All three apply in the host's network namespace; in any other namespace
# (a container, `ip netns exec`) only netns can. --only picks one.
#
# Keys are written straight to /proc/sys, so neither systemd nor procps'
# sysctl is needed. Keys of kind "raise" (keys.conf) are never lowered.
# Running it again changes nothing. The first value seen of every key and
# file it changes is saved under --state (default /var/lib/wsgate/tuning);
# --revert writes those back and forgets them. --dry-run prints what would
# change and writes nothing, state included. --root DIR installs the files
# under DIR instead of /. --require-netns refuses to run in the host's
# network namespace (tests use it so that they can never touch the host).
#
# Refused before anything changes, exit 2: a key missing from keys.conf, a
# key this kernel does not have (unless the profile marks it optional with
# a leading "-"), a malformed line. Exit 1: a write failed or did not stick.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prog=apply.sh

profile_names() {
	local d names=()
	for d in "$here"/profiles/*/; do
		d=${d%/}
		names+=("${d##*/}")
	done
	echo "${names[*]}"
}
usage() {
	echo "usage:" >&2
	sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	echo "profiles: $(profile_names)" >&2
	exit 2
}
refuse() { echo "$prog: $*" >&2; exit 2; }
fail() { echo "$prog: $*" >&2; exit 1; }

profile='' dry=0 revert=0 only='' state=/var/lib/wsgate/tuning root='' require_netns=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--dry-run) dry=1 ;;
	--revert) revert=1 ;;
	--require-netns) require_netns=1 ;;
	--only) [[ $# -ge 2 ]] || usage; only=$2; shift ;;
	--only=*) only=${1#*=} ;;
	--state) [[ $# -ge 2 ]] || usage; state=$2; shift ;;
	--state=*) state=${1#*=} ;;
	--root) [[ $# -ge 2 ]] || usage; root=$2; shift ;;
	--root=*) root=${1#*=} ;;
	-h | --help) usage ;;
	-*) echo "$prog: unknown flag $1" >&2; usage ;;
	*) [[ -z $profile ]] || { echo "$prog: one profile at a time" >&2; usage; }; profile=$1 ;;
	esac
	shift
done
[[ -n $profile ]] || usage

if [[ -d $profile ]]; then
	dir=$profile
elif [[ $profile != */* && -d $here/profiles/$profile ]]; then
	dir=$here/profiles/$profile
else
	refuse "unknown profile \"$profile\": want one of $(profile_names) or a directory"
fi
for f in sysctl.conf limits.conf wsgate.service.d.conf; do
	[[ -f $dir/$f ]] || refuse "profile $dir has no $f"
done

# net.core.netdev_max_backlog is registered only in the host's (initial)
# network namespace, so its presence tells the two apart without reading
# /proc/1/ns/net, which may be forbidden.
in_host_netns() { [[ -e /proc/sys/net/core/netdev_max_backlog ]]; }

if in_host_netns; then
	[[ $require_netns -eq 0 ]] || refuse "--require-netns: this is the host's network namespace; run it under \`ip netns exec NAME\`"
	parts=${only:-"netns global files"}
else
	case ${only:-netns} in
	netns) parts=netns ;;
	*) refuse "--only $only: global keys and /etc files belong to the host, and this is not the host's network namespace" ;;
	esac
	[[ -n $only ]] || echo "$prog: not the host's network namespace: applying per-namespace keys only"
fi
for p in $parts; do
	case $p in netns | global | files) ;; *) refuse "--only $p: want netns, global or files" ;; esac
done
want_part() { [[ " $parts " == *" $1 "* ]]; }

declare -A scope kind
while read -r k s d _; do
	[[ -z $k || $k == \#* ]] && continue
	scope[$k]=$s kind[$k]=$d
done <"$here/keys.conf"

proc_path() { echo "/proc/sys/${1//./\/}"; }
read_key() {
	local f
	read -r -a f <"$(proc_path "$1")" || true
	echo "${f[*]}"
}

# merge_higher WANT HAVE: WANT with each field raised to HAVE's where larger.
merge_higher() {
	local -a w h
	read -r -a w <<<"$1"
	read -r -a h <<<"$2"
	if [[ ${#w[@]} -ne ${#h[@]} ]]; then echo "$1"; return; fi
	local i
	for i in "${!w[@]}"; do
		if [[ ${w[i]} =~ ^[0-9]+$ && ${h[i]} =~ ^[0-9]+$ ]] && ((h[i] > w[i])); then w[i]=${h[i]}; fi
	done
	echo "${w[*]}"
}

# saved_value KEY: the value saved for KEY, if any (state file: KEY<TAB>VALUE).
saved_value() { [[ -f $state/sysctl.saved ]] && awk -F'\t' -v k="$1" '$1 == k { print $2; found = 1 } END { exit !found }' "$state/sysctl.saved"; }
forget() { # forget FILE FIELD1: drop the line whose first field is FIELD1
	awk -F'\t' -v k="$2" '$1 != k' "$1" >"$1.new" && mv "$1.new" "$1"
}

write_key() { # write_key KEY VALUE: set it and check the kernel kept it
	local got
	if ! { printf '%s\n' "$2" >"$(proc_path "$1")"; } 2>/dev/null; then
		fail "$1: the kernel refused \"$2\""
	fi
	got=$(read_key "$1")
	[[ $got == "$2" ]] || fail "$1: wrote \"$2\", the kernel kept \"$got\""
}

header() {
	local what=apply
	[[ $revert -eq 0 ]] || what=revert
	echo "$prog: $what profile $profile ($dir), parts: $parts, state: $state$([[ $dry -eq 0 ]] || echo ', dry run: nothing is written')"
}

apply_sysctl() {
	local -a keys=() values=() errors=() fields
	local line n=0 opt key value
	while IFS= read -r line || [[ -n $line ]]; do
		n=$((n + 1))
		line=${line#"${line%%[![:space:]]*}"}
		[[ -z $line || $line == \#* || $line == \;* ]] && continue
		[[ $line == *=* ]] || { errors+=("sysctl.conf:$n: want key = value, got \"$line\""); continue; }
		key=${line%%=*} value=${line#*=}
		opt=0
		[[ $key == -* ]] && opt=1 key=${key#-}
		read -r key <<<"$key"
		read -r -a fields <<<"$value"
		value="${fields[*]}"
		if [[ -z ${scope[$key]:-} ]]; then
			errors+=("sysctl.conf:$n: unknown key $key: not in tuning/keys.conf, so its scope (netns or global) is unknown")
			continue
		fi
		if ! want_part "${scope[$key]}"; then
			echo "skip    $key (${scope[$key]} key; parts in force: $parts)"
			continue
		fi
		if [[ ! -e $(proc_path "$key") ]]; then
			if [[ $opt -eq 1 ]]; then
				echo "skip    $key (optional, not on this kernel: $(proc_path "$key") is missing)"
				continue
			fi
			errors+=("sysctl.conf:$n: unknown key $key: $(proc_path "$key") does not exist on this kernel ($(uname -r))")
			continue
		fi
		keys+=("$key") values+=("$value")
	done <"$dir/sysctl.conf"
	if [[ ${#errors[@]} -gt 0 ]]; then
		printf '%s: %s\n' "$prog" "${errors[@]}" >&2
		refuse "refused profile $dir: nothing was changed"
	fi

	local i cur want
	for i in "${!keys[@]}"; do
		key=${keys[i]} value=${values[i]}
		cur=$(read_key "$key") want=$value
		[[ ${kind[$key]} != raise ]] || want=$(merge_higher "$value" "$cur")
		if [[ $cur == "$want" ]]; then
			if [[ $want != "$value" ]]; then
				echo "keep    $key = $cur (above the profile's $value)"
			else
				echo "ok      $key = $cur"
			fi
			continue
		fi
		if [[ $dry -eq 1 ]]; then
			echo "would set $key: $cur -> $want"
			continue
		fi
		mkdir -p "$state"
		saved_value "$key" >/dev/null || printf '%s\t%s\n' "$key" "$cur" >>"$state/sysctl.saved"
		write_key "$key" "$want"
		echo "set     $key: $cur -> $want"
	done
}

systemd_running() { [[ -d /run/systemd/system ]]; }

# install_targets prints SOURCE<TAB>DESTINATION for each file to install.
install_targets() {
	printf '%s\t%s\n' sysctl.conf "$root/etc/sysctl.d/90-wsgate.conf"
	printf '%s\t%s\n' limits.conf "$root/etc/security/limits.d/90-wsgate.conf"
	if [[ -n $root ]] || systemd_running; then
		printf '%s\t%s\n' wsgate.service.d.conf "$root/etc/systemd/system/wsgate.service.d/90-wsgate-tuning.conf"
	else
		echo "skip    systemd drop-in: systemd is not running; raise open files with limits.conf or ulimit -n" >&2
	fi
}

daemon_reload() {
	if [[ -z $root ]] && systemd_running && [[ $dry -eq 0 ]]; then
		systemctl daemon-reload || fail "systemctl daemon-reload failed"
	fi
}

apply_files() {
	local src dest backup reload=0
	while IFS=$'\t' read -r src dest; do
		if cmp -s "$dir/$src" "$dest"; then
			echo "ok      $dest"
			continue
		fi
		if [[ $dry -eq 1 ]]; then
			echo "would install $dest from $src"
			continue
		fi
		mkdir -p "$state/files"
		if ! awk -F'\t' -v k="$dest" '$1 == k { found = 1 } END { exit !found }' "$state/files.saved" 2>/dev/null; then
			backup=-
			if [[ -e $dest ]]; then
				backup=$state/files/$(echo "$dest" | tr / _).orig
				cp -p "$dest" "$backup"
			fi
			printf '%s\t%s\n' "$dest" "$backup" >>"$state/files.saved"
		fi
		mkdir -p "$(dirname "$dest")"
		if ! { cp "$dir/$src" "$dest.wsgate-new" && chmod 0644 "$dest.wsgate-new" && mv "$dest.wsgate-new" "$dest"; }; then
			fail "cannot install $dest"
		fi
		echo "install $dest"
		[[ $src != wsgate.service.d.conf ]] || reload=1
	done < <(install_targets)
	[[ $reload -eq 0 ]] || daemon_reload
}

revert_sysctl() {
	[[ -f $state/sysctl.saved ]] || return 0
	local key value
	while IFS=$'\t' read -r key value; do
		[[ -n $key ]] || continue
		if [[ -z ${scope[$key]:-} ]] || ! want_part "${scope[$key]}"; then continue; fi
		if [[ $dry -eq 1 ]]; then
			echo "would   restore $key: $(read_key "$key") -> $value"
			continue
		fi
		write_key "$key" "$value"
		forget "$state/sysctl.saved" "$key"
		echo "restore $key = $value"
	done < <(cat "$state/sysctl.saved")
}

revert_files() {
	[[ -f $state/files.saved ]] || return 0
	local dest backup reload=0
	while IFS=$'\t' read -r dest backup; do
		[[ -n $dest ]] || continue
		if [[ $dry -eq 1 ]]; then
			[[ $backup == - ]] && echo "would   remove $dest" || echo "would   restore $dest"
			continue
		fi
		if [[ $backup == - ]]; then
			rm -f "$dest"
			echo "remove  $dest"
		else
			if ! { cp -p "$backup" "$dest" && rm -f "$backup"; }; then
				fail "cannot restore $dest"
			fi
			echo "restore $dest"
		fi
		[[ $dest != */wsgate.service.d/* ]] || reload=1
		forget "$state/files.saved" "$dest"
	done < <(cat "$state/files.saved")
	[[ $reload -eq 0 ]] || daemon_reload
}

# tidy removes state files that no longer hold anything.
tidy() {
	local f
	for f in "$state/sysctl.saved" "$state/files.saved"; do
		[[ ! -f $f || -s $f ]] || rm -f "$f"
	done
	rmdir "$state/files" "$state" 2>/dev/null || true
}

header
if [[ $revert -eq 1 ]]; then
	if [[ ! -s $state/sysctl.saved && ! -s $state/files.saved ]]; then
		echo "$prog: nothing to revert: no saved values in $state"
		exit 0
	fi
	want_part files && revert_files
	if want_part netns || want_part global; then revert_sysctl; fi
	[[ $dry -eq 1 ]] || tidy
	exit 0
fi
if want_part netns || want_part global; then apply_sysctl; fi
if want_part files; then apply_files; fi
