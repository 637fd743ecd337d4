//! What a Windows path says about a file's origin: part of the operating
//! system, installed software, or somewhere an intruder stages tools.
//! Containment decisions read these; the lists are deliberately short and
//! conservative — when in doubt a file is treated as the system's, because
//! blocking a Windows binary's hash breaks every machine it is pushed to.

/// Lower-case, `/` as `\`, `\\?\` and `\??\` prefixes removed, so two
/// spellings of one path compare equal.
pub fn normalise(path: &str) -> String {
    let p = path.trim().replace('/', "\\").to_ascii_lowercase();
    let p = p
        .strip_prefix("\\\\?\\")
        .or_else(|| p.strip_prefix("\\??\\"))
        .unwrap_or(&p);
    p.to_string()
}

/// Folders the operating system owns. A path inside one is Windows' own
/// file, or a file Windows services write (databases, logs).
const OS_FOLDERS: &[&str] = &[
    "\\windows\\system32\\",
    "\\windows\\syswow64\\",
    "\\windows\\sysnative\\",
    "\\windows\\winsxs\\",
    "\\windows\\servicing\\",
    "\\windows\\softwaredistribution\\",
    "\\windows\\ntds\\",
    "\\windows\\prefetch\\",
    "\\windows\\inf\\",
    "\\windows\\assembly\\",
    "\\windows\\microsoft.net\\",
    "\\windows\\logs\\",
    "\\windows\\systemapps\\",
    "\\windows\\immersivecontrolpanel\\",
    "\\program files\\windowsapps\\",
    "\\programdata\\microsoft\\windows defender\\",
    "\\programdata\\microsoft\\search\\",
    "\\programdata\\microsoft\\windows\\wer\\",
];

/// Folders installers own. Binaries here were installed, not dropped (an
/// intruder can write here too, but then a creation event or an indicator
/// names the file, and that is what containment follows).
const INSTALLED_FOLDERS: &[&str] = &["\\program files\\", "\\program files (x86)\\"];

/// `true` for a path inside a folder the operating system owns. The match
/// is exact on folder names, so `C:\Windows \System32\` (a trailing space,
/// a known hijack trick) is not the system's.
pub fn is_os_path(path: &str) -> bool {
    let p = normalise(path);
    OS_FOLDERS.iter().any(|f| p.contains(f))
}

/// `true` for a path under Program Files.
pub fn is_installed_path(path: &str) -> bool {
    let p = normalise(path);
    INSTALLED_FOLDERS.iter().any(|f| p.contains(f))
}

/// The file name of a Windows or POSIX path, lower-case.
pub fn file_name(path: &str) -> String {
    let p = normalise(path);
    p.rsplit(['\\', '/']).next().unwrap_or("").to_string()
}

/// Windows' own programs that intruders run or copy. A copy keeps the
/// original's hash, so blocking it would block Windows itself.
const WINDOWS_BINARIES: &[&str] = &[
    "arp.exe",
    "at.exe",
    "bitsadmin.exe",
    "certutil.exe",
    "cmd.exe",
    "cmstp.exe",
    "conhost.exe",
    "consent.exe",
    "control.exe",
    "csrss.exe",
    "cscript.exe",
    "dllhost.exe",
    "dsquery.exe",
    "esentutl.exe",
    "eventvwr.exe",
    "expand.exe",
    "explorer.exe",
    "findstr.exe",
    "fodhelper.exe",
    "forfiles.exe",
    "hostname.exe",
    "installutil.exe",
    "ipconfig.exe",
    "lsass.exe",
    "makecab.exe",
    "mmc.exe",
    "msbuild.exe",
    "mshta.exe",
    "msiexec.exe",
    "net.exe",
    "net1.exe",
    "netsh.exe",
    "nltest.exe",
    "notepad.exe",
    "nslookup.exe",
    "ntdsutil.exe",
    "odbcconf.exe",
    "pcalua.exe",
    "ping.exe",
    "powershell.exe",
    "powershell_ise.exe",
    "qwinsta.exe",
    "reg.exe",
    "regasm.exe",
    "regedit.exe",
    "regsvcs.exe",
    "regsvr32.exe",
    "route.exe",
    "rundll32.exe",
    "runonce.exe",
    "sc.exe",
    "schtasks.exe",
    "searchindexer.exe",
    "searchprotocolhost.exe",
    "services.exe",
    "sihost.exe",
    "smss.exe",
    "spoolsv.exe",
    "svchost.exe",
    "systeminfo.exe",
    "taskhostw.exe",
    "taskkill.exe",
    "tasklist.exe",
    "taskmgr.exe",
    "userinit.exe",
    "vssadmin.exe",
    "wevtutil.exe",
    "whoami.exe",
    "winlogon.exe",
    "wininit.exe",
    "winrs.exe",
    "wmic.exe",
    "wmiprvse.exe",
    "wscript.exe",
    "wsmprovhost.exe",
    "werfault.exe",
    "curl.exe",
    "tar.exe",
    "ntdll.dll",
    "kernel32.dll",
    "comsvcs.dll",
];

/// `true` when `path` names one of Windows' own programs, wherever it sits.
pub fn is_windows_binary_name(path: &str) -> bool {
    WINDOWS_BINARIES.contains(&file_name(path).as_str())
}

/// Legitimate tools intruders also bring. Blocking their hash also stops
/// administrators; the entry says so.
const DUAL_USE: &[&str] = &[
    "psexec.exe",
    "psexec64.exe",
    "psexesvc.exe",
    "procdump.exe",
    "procdump64.exe",
    "rar.exe",
    "winrar.exe",
    "7z.exe",
    "7za.exe",
    "anydesk.exe",
    "teamviewer.exe",
    "plink.exe",
    "putty.exe",
    "rclone.exe",
    "winscp.exe",
    "paexec.exe",
];

/// `true` for a legitimate tool intruders also use.
pub fn is_dual_use(path: &str) -> bool {
    DUAL_USE.contains(&file_name(path).as_str())
}

/// Files Windows itself keeps (databases, logs, hives, event logs):
/// removing one breaks the system or destroys evidence.
pub fn is_os_data_file(path: &str) -> bool {
    let p = normalise(path);
    let name = file_name(&p);
    let os_locations = [
        "\\windows\\system32\\sru\\",
        "\\windows\\system32\\config\\",
        "\\windows\\system32\\winevt\\",
        "\\windows\\system32\\logfiles\\",
        "\\windows\\ntds\\",
        "\\programdata\\microsoft\\search\\",
        "\\windows\\softwaredistribution\\",
        "\\appdata\\local\\microsoft\\windows\\webcache\\",
        "\\appdata\\local\\microsoft\\windows\\explorer\\",
    ];
    os_locations.iter().any(|l| p.contains(l))
        || matches!(
            name.as_str(),
            "ntuser.dat" | "ntuser.dat.log1" | "ntuser.dat.log2" | "usrclass.dat" | "desktop.ini"
        )
        || [
            ".edb",
            ".jfm",
            ".chk",
            ".regtrans-ms",
            ".blf",
            ".etl",
            ".evtx",
        ]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// `true` for a Windows path whose last component has no extension: most
/// likely a folder (a profile, a staging directory), not a file to delete
/// by name.
pub fn looks_like_folder(path: &str) -> bool {
    let t = path.trim();
    if t.ends_with(['\\', '/']) {
        return true;
    }
    // POSIX paths often have no extension; only judge Windows ones.
    let windows = t.contains('\\') || t.get(1..2) == Some(":");
    windows && !file_name(t).contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_folders_are_exact() {
        assert!(is_os_path("C:\\Windows\\System32\\cmd.exe"));
        assert!(is_os_path("\\\\?\\c:\\windows\\SysWOW64\\rundll32.exe"));
        assert!(is_os_path("C:/Windows/WinSxS/x86_foo/bar.dll"));
        assert!(!is_os_path("C:\\Windows \\System32\\WINMM.dll"));
        assert!(!is_os_path("C:\\Windows\\Temp\\dsync.exe"));
        assert!(!is_os_path("C:\\ProgramData\\dsync.exe"));
        assert!(is_installed_path(
            "C:\\Program Files (x86)\\Google\\Chrome\\chrome.exe"
        ));
    }

    #[test]
    fn windows_binaries_are_recognised_wherever_they_sit() {
        assert!(is_windows_binary_name("C:\\Users\\a\\Startup\\cmd.exe"));
        assert!(is_windows_binary_name("C:\\WINDOWS\\system32\\LSASS.EXE"));
        assert!(!is_windows_binary_name("C:\\ProgramData\\dsync.exe"));
        assert!(is_dual_use("C:\\Windows\\PSEXESVC.exe"));
    }

    #[test]
    fn os_data_files_and_folders() {
        assert!(is_os_data_file("C:\\Windows\\System32\\sru\\SRU.log"));
        assert!(is_os_data_file(
            "C:\\ProgramData\\Microsoft\\Search\\Data\\Applications\\Windows\\Windows.edb"
        ));
        assert!(!is_os_data_file(
            "C:\\ProgramData\\ifm\\Active Directory\\ntds.dit"
        ));
        assert!(!is_os_data_file("C:\\Windows\\Temp\\dbg.dmp"));
        assert!(looks_like_folder("C:\\Users\\bob"));
        assert!(looks_like_folder("C:\\Users\\bob\\"));
        assert!(!looks_like_folder("C:\\Users\\bob\\x.ps1"));
        assert!(!looks_like_folder("/tmp/payload"));
    }
}
