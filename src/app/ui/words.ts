// Short, common, unambiguous words for readable room names (amber-otter-42). 64 × 64 × 90 ≈ 370k
// names: plenty to avoid collisions between rooms created on one network at the same time.
export const ADJECTIVES = [
  'amber', 'azure', 'bold', 'brave', 'breezy', 'bright', 'brisk', 'calm',
  'clever', 'coral', 'cosmic', 'crisp', 'dapper', 'dusky', 'eager', 'early',
  'fancy', 'fern', 'fleet', 'fresh', 'gentle', 'glad', 'golden', 'grand',
  'happy', 'hazel', 'honest', 'humble', 'ivory', 'jolly', 'keen', 'kind',
  'lively', 'lucky', 'lunar', 'mellow', 'merry', 'misty', 'modest', 'noble',
  'olive', 'plucky', 'polar', 'proud', 'quick', 'quiet', 'rapid', 'rosy',
  'rustic', 'sage', 'scarlet', 'silent', 'silver', 'sleek', 'snowy', 'solar',
  'steady', 'sunny', 'swift', 'tidy', 'velvet', 'vivid', 'warm', 'witty',
] as const;

export const ANIMALS = [
  'badger', 'beaver', 'bison', 'bobcat', 'crane', 'cricket', 'dingo', 'dolphin',
  'eagle', 'egret', 'falcon', 'ferret', 'finch', 'fox', 'gecko', 'gibbon',
  'goose', 'heron', 'hippo', 'ibis', 'jackal', 'jaguar', 'koala', 'lemur',
  'lark', 'llama', 'lynx', 'magpie', 'marten', 'mole', 'moose', 'newt',
  'ocelot', 'orca', 'oriole', 'otter', 'owl', 'panda', 'parrot', 'pelican',
  'penguin', 'puffin', 'quail', 'rabbit', 'raven', 'robin', 'salmon', 'seal',
  'shrew', 'sloth', 'sparrow', 'squid', 'stoat', 'swan', 'tapir', 'tern',
  'tiger', 'toucan', 'trout', 'turtle', 'walrus', 'weasel', 'wombat', 'yak',
] as const;
