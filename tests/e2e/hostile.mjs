// Hostile evidence for the e2e tests: a Sysmon process creation (EVTX JSON
// rendering) whose attacker-controlled fields carry markup. It matches the
// whoami privilege-enumeration rule on purpose, so the payloads also reach
// findings, the report and the STIX bundle, not only the timeline.
//
//   node hostile.mjs OUT.jsonl     # writes the file
import { writeFileSync } from 'node:fs';

export const MARKER = 'kahuxssmarker';
export const HOST = 'PCO-WEB01.parl.example.nz';
export const PAYLOADS = {
  CommandLine: `whoami /priv ${MARKER} <script>alert('kahu-xss')</script>`,
  ParentImage: `<img src=x onerror=alert('kahu-xss')>`,
  ParentCommandLine: `"><svg onload=alert('kahu-xss')>`,
  User: `PARL\\<b id=kahu-xss-b>kahu-xss</b>`,
  CurrentDirectory: `C:\\Users\\Public\\<iframe src=javascript:alert('kahu-xss')>\\`,
};

export function hostileEvent() {
  return {
    Event: {
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } },
        EventID: 1,
        TimeCreated: { '#attributes': { SystemTime: '2021-09-07T03:00:00.000000Z' } },
        EventRecordID: 1,
        Channel: 'Microsoft-Windows-Sysmon/Operational',
        Computer: HOST,
      },
      EventData: {
        Image: 'C:\\Windows\\System32\\whoami.exe',
        OriginalFileName: 'whoami.exe',
        ProcessGuid: '{4B1D0000-0000-0000-0000-00000000CAFE}',
        ProcessId: 4242,
        ParentProcessGuid: '{4B1D0000-0000-0000-0000-00000000BEEF}',
        ParentProcessId: 4240,
        ...PAYLOADS,
      },
    },
  };
}

if (process.argv[1] && import.meta.url === new URL('file://' + process.argv[1]).href) {
  const out = process.argv[2];
  if (!out) { console.error('usage: node hostile.mjs OUT.jsonl'); process.exit(2); }
  writeFileSync(out, JSON.stringify(hostileEvent()) + '\n');
}
