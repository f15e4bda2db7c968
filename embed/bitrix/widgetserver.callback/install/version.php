<?php
$arModuleVersion = array(
    'VERSION' => '0.1.0',
    'VERSION_DATE' => '2026-11-27 00:00:00',
);
