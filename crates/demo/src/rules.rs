//! kahu's own Sigma rules (the project's work, Apache-2.0 like the code),
//! embedded so the binary works from any directory.

macro_rules! rules {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../rules/", $name)))),*]
    };
}

/// One file of the top-level `rules/` directory, named `rules/FILE`.
macro_rules! pack {
    ($name:literal) => {
        (
            concat!("rules/", $name),
            include_str!(concat!("../../../rules/", $name)),
        )
    };
}

static RULES: &[(&str, &str)] = rules![
    "dns_query_win_staging_folder_root.yml",
    "file_event_win_dump_in_staging_folder.yml",
    "file_event_win_executable_dropped_in_staging_folder_root.yml",
    "file_event_win_executable_written_over_smb.yml",
    "file_event_win_ntds_dit_outside_ntds.yml",
    "file_event_win_webshell_written_to_webroot.yml",
    "lnx_auth_ssh_failed_password.yml",
    "lnx_auth_sudo_root_shell.yml",
    "net_connection_win_certutil.yml",
    "net_connection_win_staging_folder_root_external.yml",
    "posh_ps_kerberos_service_ticket_request.yml",
    "proc_access_win_lsass_dump_rights.yml",
    "proc_creation_win_archiver_password_or_documents.yml",
    "proc_creation_win_certutil_download.yml",
    "proc_creation_win_china_chopper_wrapper.yml",
    "proc_creation_win_comsvcs_minidump.yml",
    "proc_creation_win_exec_from_staging_folder_root.yml",
    "proc_creation_win_net_domain_group_enum.yml",
    "proc_creation_win_net_use_admin_share_with_credentials.yml",
    "proc_creation_win_netsh_firewall_allow_inbound.yml",
    "proc_creation_win_nltest_domain_recon.yml",
    "proc_creation_win_ntdsutil_ifm.yml",
    "proc_creation_win_powershell_encoded_command.yml",
    "proc_creation_win_sc_remote_service_create.yml",
    "proc_creation_win_schtasks_create_susp_location.yml",
    "proc_creation_win_services_spawns_shell.yml",
    "proc_creation_win_webserver_spawns_shell.yml",
    "proc_creation_win_webshell_network_config_discovery.yml",
    "proc_creation_win_webshell_network_connections_discovery.yml",
    "proc_creation_win_webshell_process_discovery.yml",
    "proc_creation_win_webshell_system_info_discovery.yml",
    "proc_creation_win_whoami_privilege_enum.yml",
    "web_ognl_injection_request.yml",
    "web_post_to_script_in_aspnet_client.yml",
    "web_scanner_user_agent.yml",
    "win_firewall_as_any_program_rule_added_by_netsh.yml",
    "win_security_admin_share_access.yml",
    "win_security_kerberos_rc4_service_ticket.yml",
    "win_security_scheduled_task_susp_location.yml",
    "win_security_service_install_susp_image_path.yml",
    "win_system_service_install_susp_image_path.yml",
];

/// kahu's rule pack for Windows' built-in logs (Security, System,
/// PowerShell, Defender, WinRM, WMI, RDP, Application-Experience) plus a
/// few Sysmon registry shapes SigmaHQ lacks, from the repository's
/// top-level `rules/` directory; see `docs/rules.md`.
static WINDOWS_PACK: &[(&str, &str)] = &[
    pack!("posh_obfuscated_string_concatenation.yml"),
    pack!("posh_ps_offensive_script_content.yml"),
    pack!("sysmon_registry_defense_and_privilege_escalation.yml"),
    pack!("sysmon_eventlog_crash_injection_and_registry_links.yml"),
    pack!("sysmon_eventlog_pipe_then_service_crash.yml"),
    pack!("sysmon_service_pipes_and_image_loads.yml"),
    pack!("win_application_credential_and_sql_abuse.yml"),
    pack!("win_application_experience_cpl_and_shim.yml"),
    pack!("win_bits_rdp_core_activity.yml"),
    pack!("win_defender_detection_and_tampering.yml"),
    pack!("win_rdp_authentication.yml"),
    pack!("win_security_account_changed_by_anonymous_or_machine.yml"),
    pack!("win_security_audit_policy_auditing_removed.yml"),
    pack!("win_security_boot_debug_or_test_signing.yml"),
    pack!("win_security_computer_password_changed_by_anonymous.yml"),
    pack!("win_security_event_log_cleared.yml"),
    pack!("win_security_explicit_credential_logon_remote.yml"),
    pack!("win_security_explicit_credential_spray.yml"),
    pack!("win_security_failed_logon_password_spray.yml"),
    pack!("win_security_kerberos_asrep_roastable.yml"),
    pack!("win_security_kerberos_preauth_failure_spray.yml"),
    pack!("win_security_kerberos_rc4_ticket_burst.yml"),
    pack!("win_security_kerberos_unknown_account_spray.yml"),
    pack!("win_security_logon_new_credentials.yml"),
    pack!("win_security_member_added_to_privileged_group.yml"),
    pack!("win_security_named_pipe_access.yml"),
    pack!("win_security_ntlm_relay_and_loopback_logons.yml"),
    pack!("win_security_ntlm_validation_failure_spray.yml"),
    pack!("win_security_password_reset_and_enumeration.yml"),
    pack!("win_security_privileged_service_called_by_hacktool.yml"),
    pack!("win_security_scheduled_task_script_host.yml"),
    pack!("win_security_sedebug_privilege_enabled.yml"),
    pack!("win_security_txf_transaction_outside_system_folders.yml"),
    pack!("win_security_user_account_created.yml"),
    pack!("win_security_wmi_provider_host_child_process.yml"),
    pack!("win_service_install_lolbin.yml"),
    pack!("win_system_dcom_lateral_movement_objects.yml"),
    pack!("win_system_eventlog_service_disabled.yml"),
    pack!("win_system_service_events.yml"),
    pack!("win_winrm_wmi_activity.yml"),
];

/// kahu's rules for Linux authentication logs and web-server access logs
/// (`rules/lnx_*.yml`, `rules/web_*.yml`): what a Linux responder looks for
/// first and SigmaHQ's core set does not cover; see `docs/rules.md`.
static LINUX_WEB_PACK: &[(&str, &str)] = &[
    pack!("lnx_auth_sudo_writes_authorized_keys.yml"),
    pack!("lnx_auth_uid0_account_created.yml"),
    pack!("lnx_auth_user_added_to_admin_group.yml"),
    pack!("web_log4shell_jndi_lookup.yml"),
    pack!("web_shell_command_in_query_answered.yml"),
    pack!("web_tomcat_manager_deploy.yml"),
];

/// The bundled rule set (the demonstration rules, the Windows pack and
/// the Linux and web pack) as `(file name, YAML text)` pairs.
pub fn bundled_rules() -> &'static [(&'static str, &'static str)] {
    static ALL: std::sync::LazyLock<Vec<(&str, &str)>> = std::sync::LazyLock::new(|| {
        RULES
            .iter()
            .chain(WINDOWS_PACK)
            .chain(LINUX_WEB_PACK)
            .copied()
            .collect()
    });
    &ALL
}

/// Only kahu's rules for Linux authentication and web-server logs.
pub fn linux_web_rule_pack() -> &'static [(&'static str, &'static str)] {
    LINUX_WEB_PACK
}

/// Only kahu's rule pack for Windows' built-in logs (`rules/*.yml`).
pub fn windows_rule_pack() -> &'static [(&'static str, &'static str)] {
    WINDOWS_PACK
}
