/*
  Test rules written for kahu's YARA tests.
*/
rule Webshell_ChinaChopper_aspx : webshell T1505_003
{
    meta:
        description = "China Chopper style ASPX one-liner (eval of a request parameter)"
        author = "kahu tests"
        mitre_attack = "T1505.003"
        software = "China Chopper"
        severity = "critical"
    strings:
        $page = "<%@ Page Language=\"Jscript\"" nocase
        $eval = /eval\s*\(\s*Request(\.Item)?\s*\[\s*"[^"]{1,32}"\s*\]\s*,\s*"unsafe"\s*\)/ nocase
    condition:
        filesize < 4KB and $page and $eval
}

rule Suspicious_Aspx_ProcessStart : webshell
{
    meta:
        description = "ASPX page starting processes"
        score = 60
    strings:
        $a = "Process.Start" nocase
        $b = "<%@ Page" nocase
    condition:
        all of them
}
