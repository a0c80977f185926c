// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarginEngine} from "@interfaces/IMarginEngine.sol";
