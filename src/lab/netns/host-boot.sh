#!/bin/sh
# Boots a lab host in its own mount namespace (made private by `unshare --mount`): the host's
# own directories under HOST_DIR (its passwd, shadow and sudoers.d with the login user among
# them) are bound over /etc, /var/lib, /tmp, /run, /var/log, /root
# and /usr/local, so nothing the host writes reaches the real filesystem, then sshd runs in
# the foreground as the host's anchor process: every ssh session, and every service the
# host's systemctl starts, lives in this network and mount namespace, which a holder process
# keeps while neither sshd nor any service runs.
#   host-boot HOST_DIR
set -eu
host=$1

# A directory that is the real one plus the host's own entries, which win: a tmpfs holding
# a bind of every real entry the host does not replace.
overlay_dir() {
    real=$1
    own=$host/$2
    view=$host/.view/$2
    mkdir -p "$view"
    mount -t tmpfs -o mode=0755 runbook-lab "$view"
    for entry in "$real"/* "$real"/.[!.]*; do
        [ -e "$entry" ] || [ -L "$entry" ] || continue
        name=${entry##*/}
        if [ -e "$own/$name" ] || [ -L "$own/$name" ]; then
            continue
        fi
        if [ -L "$entry" ]; then
            cp -P "$entry" "$view/$name"
        elif [ -d "$entry" ]; then
            mkdir "$view/$name"
            mount --rbind "$entry" "$view/$name"
        else
            : > "$view/$name"
            mount --bind "$entry" "$view/$name"
        fi
    done
    for entry in "$own"/* "$own"/.[!.]*; do
        [ -e "$entry" ] || continue
        name=${entry##*/}
        if [ -d "$entry" ]; then mkdir "$view/$name"; else : > "$view/$name"; fi
        mount --bind "$entry" "$view/$name"
    done
}

# Every view is made first, under HOST_DIR, then each is bound over its real directory. The
# one that holds HOST_DIR (a lab under /tmp, say) goes last: after it, HOST_DIR is hidden.
overlay_dir /etc etc
overlay_dir /var/lib var/lib
targets="etc var/lib run var/log root usr/local tmp"
last=
for target in $targets; do
    case $host/ in
        /$target/*) last=$target ;;
    esac
done
for target in $targets; do
    [ "$target" = "$last" ] && continue
    case $target in
        etc|var/lib) mount --rbind "$host/.view/$target" "/$target" ;;
        *) mount --bind "$host/$target" "/$target" ;;
    esac
done
if [ -n "$last" ]; then
    case $last in
        etc|var/lib) mount --rbind "$host/.view/$last" "/$last" ;;
        *) mount --bind "$host/$last" "/$last" ;;
    esac
fi
# The host's systemctl, wherever a script looks for it.
if [ -e /usr/bin/systemctl ]; then
    mount --bind /usr/local/sbin/systemctl /usr/bin/systemctl
fi
# Its own name, in the UTS namespace `unshare --uts` gave it.
cat /etc/hostname > /proc/sys/kernel/hostname
mkdir -p /run/sshd
chmod 0755 /run/sshd
# A process that keeps the host's namespaces while nothing else runs in them (sshd and every
# service stopped), as a real host outlives its daemons. Started by a shell that exits at once,
# so it is no child of sshd (stopping sshd ends its children, the sessions); recorded like a
# service, so `lab down` stops it by its pid.
sh -c 'sleep infinity </dev/null >/dev/null 2>&1 & echo "$! $(cut -d" " -f22 /proc/$!/stat)" > /run/host-holder.pid'
echo "booted"
exec /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config
