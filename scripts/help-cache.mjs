// Build step: writes dist/cli/help.json, the `--help` text of every command and subcommand, made
// by commander from the same definitions the CLI runs. dist/cli/main.js prints it for
// `spate [command…] --help` without loading commander, so help starts as fast as Node does.
import { writeFileSync } from 'node:fs';

const { commands, makeProgram } = await import(new URL('../dist/cli/commands.js', import.meta.url).href);

/** What `cmd --help` prints: commander's own output (help text plus its before/after texts). */
function helpOf(cmd) {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => { text += s; }, getOutHelpWidth: () => 80 });
  cmd.outputHelp();
  return text;
}

const help = { '': helpOf(await makeProgram(undefined)) };
for (const [name, entry] of Object.entries(commands)) {
  const program = await makeProgram(entry);
  const walk = (cmd, path) => {
    help[path] = helpOf(cmd);
    for (const sub of cmd.commands) walk(sub, `${path} ${sub.name()}`);
  };
  walk(program.commands.find((c) => c.name() === name), name);
}
writeFileSync(new URL('../dist/cli/help.json', import.meta.url), `${JSON.stringify(help)}\n`);
