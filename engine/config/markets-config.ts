/**
 * The operator-edited markets file (config/markets.json by default): assets, markets and the
 * shard map. Loading validates everything and fails with a message naming the problem.
 */
import { readFileSync } from 'node:fs';
import {
  type AssetSpec,
  defineMarket,
  type Market,
  MarketDefinitionError,
  type MarketSpec,
} from '../model/market.ts';

/** The file's shape. */
export interface MarketsFile {
  readonly assets: readonly AssetSpec[];
  readonly markets: readonly MarketSpec[];
  /** symbol -> shard index; "*" is the default for symbols not named. */
  readonly shardMap?: Readonly<Record<string, number>>;
}

/** The validated markets: by id (dense from 0, in file order) and by symbol. */
export class Markets {
  readonly list: readonly Market[];
  readonly assets: ReadonlyMap<string, AssetSpec>;
  private readonly bySymbol: ReadonlyMap<string, Market>;

  constructor(file: MarketsFile) {
    const assets = new Map<string, AssetSpec>();
    for (const a of file.assets) {
      if (!/^[A-Z0-9]{2,12}$/.test(a.asset))
        throw new MarketDefinitionError(`asset "${a.asset}" must be 2-12 of A-Z, 0-9`);
      if (!Number.isInteger(a.scale) || a.scale < 0 || a.scale > 18) {
        throw new MarketDefinitionError(`asset ${a.asset}: scale must be an integer in 0..18`);
      }
      if (assets.has(a.asset)) throw new MarketDefinitionError(`asset ${a.asset} is defined twice`);
      assets.set(a.asset, a);
    }
    const list = file.markets.map((spec, i) => defineMarket(i, spec, assets));
    const bySymbol = new Map<string, Market>();
    for (const m of list) {
      if (bySymbol.has(m.symbol)) throw new MarketDefinitionError(`market ${m.symbol} is defined twice`);
      bySymbol.set(m.symbol, m);
    }
    this.list = list;
    this.assets = assets;
    this.bySymbol = bySymbol;
  }

  /** The market trading `symbol`, if any. */
  get(symbol: string): Market | undefined {
    return this.bySymbol.get(symbol);
  }

  /** The market with id `id`, if any. */
  byId(id: number): Market | undefined {
    return this.list[id];
  }
}

/** Reads and validates a markets file. */
export function loadMarketsFile(path: string): { markets: Markets; file: MarketsFile } {
  let file: MarketsFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as MarketsFile;
  } catch (e) {
    throw new MarketDefinitionError(`cannot read markets file ${path}: ${(e as Error).message}`);
  }
  if (!Array.isArray(file.assets) || !Array.isArray(file.markets)) {
    throw new MarketDefinitionError(`markets file ${path} needs "assets" and "markets" arrays`);
  }
  return { markets: new Markets(file), file };
}
