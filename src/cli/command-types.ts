// Shapes of the declarative command table (command-table.ts) that drives parsing,
// help and completion. They mirror virsh's vshCmdDef / vshCmdOptDef.

/** vshCmdOptType: bool flag, --name value, number, positional data, trailing argv, alias of another option. */
export type OptionType = 'bool' | 'string' | 'int' | 'data' | 'argv' | 'alias';

/** What tab completion offers for an option's value. */
export type Completion = 'domain' | 'network' | 'pool' | 'volume' | 'interface' | 'snapshot' | 'file' | 'command';

export interface OptionDef {
  name: string;
  type: OptionType;
  /** help text; for an alias: the option it stands for, optionally "name=value" */
  help: string;
  required?: boolean;
  /** VSH_OFLAG_REQ_OPT: the value can only be given as --name VALUE, never positionally */
  requireName?: boolean;
  emptyOk?: boolean;
  complete?: Completion;
}

export interface CommandDef {
  name: string;
  /** set for alias commands: the command they stand for */
  alias?: string;
  hidden?: boolean;
  /** runs without opening the connection */
  noConnect?: boolean;
  help?: string;
  desc?: string;
  options?: OptionDef[];
}

export interface CommandGroup {
  name: string;
  keyword: string;
  commands: CommandDef[];
  /** tsvirt's own group: left out of virsh's full listings so those stay byte-identical */
  extension?: boolean;
}
